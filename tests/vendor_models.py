"""Every answer a fake cloud gave, decoded with the cloud's own SDK model and held to it.

Standard input: {"answers": [{"api": API, "action": ..., "status": ..., "body": ...}]}, where
API is one of the keys of CHECKERS. Standard output: {"problems": [...], "checked": N,
"words": {"Action.Field": [words seen]}}: a problem is a name the model does not have, a value
of another type than the model's, or a word outside the words the model documents.

The models, all from tests/requirements.txt:
- AWS: botocore's IAM and STS service models (`ReportStateType`, `ReportFormatType` and every
  other `enum`), parsed with botocore's own query-protocol parser, and its Organizations model
  (`AccountStatus`, `AccountState`, the id patterns), parsed with its JSON parser;
- Alibaba Cloud: the `alibabacloud-ims20190815`, `alibabacloud-sts20150401` and
  `alibabacloud-resourcemanager20200331` model classes (`from_map`); a field's words are the
  "Valid values" list in its comment, or, where a model leaves them out, the list of the
  model that documents the same object (ALIBABA_WORDS_FROM);
- Tencent Cloud: the `tencentcloud-sdk-python-cam`, `-sts` and `-organization` model classes
  (`_deserialize`); a field's type is its `:type:` line, its words the ones its description
  enumerates, as `激活（Active）或未激活（Inactive）`, `允许：Allow，不允许：Denied` or
  `(2:子用户;3:企业微信子用户;...)`.

Error answers carry no model of their own: their code must be one the SDK's error list
(Tencent's errorcodes.py, botocore's error shapes) or the cloud's page of common errors names.
"""

import base64
import inspect
import json
import re
import sys
import warnings
import xml.etree.ElementTree as ET

import botocore.loaders
import botocore.model
import botocore.parsers

import alibabacloud_ims20190815.models as ims_models
import alibabacloud_resourcemanager20200331.models as rm_models
import alibabacloud_sts20150401.models as ali_sts_models
import tencentcloud.cam.v20190116.errorcodes as cam_errorcodes
import tencentcloud.cam.v20190116.models as cam_models
import tencentcloud.organization.v20210331.errorcodes as organization_errorcodes
import tencentcloud.organization.v20210331.models as organization_models
import tencentcloud.sts.v20180813.errorcodes as tc_sts_errorcodes
import tencentcloud.sts.v20180813.models as tc_sts_models

# AWS's common errors (IAM API Reference, "Common Errors"), which botocore's model leaves out.
AWS_COMMON_ERRORS = {
    "AccessDenied", "AccessDeniedException", "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
    "InternalFailure", "InvalidAction", "InvalidClientTokenId", "NotAuthorized",
    "OptInRequired", "RequestExpired", "ServiceUnavailable", "SignatureDoesNotMatch",
    "Throttling", "ThrottlingException", "ValidationError",
}
# Tencent Cloud API 3.0 common error codes ("公共错误码"), which the per-product lists leave out.
TENCENT_COMMON_ERRORS = {
    "AuthFailure.InvalidAuthorization", "AuthFailure.InvalidSecretId", "AuthFailure.MFAFailure",
    "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureExpire", "AuthFailure.SignatureFailure",
    "AuthFailure.TokenFailure", "AuthFailure.UnauthorizedOperation", "DryRunOperation",
    "FailedOperation", "InternalError", "InvalidAction", "InvalidParameter",
    "InvalidParameterValue", "InvalidRequest", "IpInBlacklist", "IpNotInWhitelist",
    "LimitExceeded", "MissingParameter", "NoSuchProduct", "NoSuchVersion",
    "RequestLimitExceeded", "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "RequestLimitExceeded.IPLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
    "RequestSizeLimitExceeded", "ResourceInUse", "ResourceInsufficient", "ResourceNotFound",
    "ResourceUnavailable", "ResponseSizeLimitExceeded", "ServiceUnavailable",
    "UnauthorizedOperation", "UnknownParameter", "UnsupportedOperation",
    "UnsupportedProtocol", "UnsupportedRegion",
}
# Alibaba's error body (the "公共返回参数" of an RPC error): these names and no others.
ALIBABA_ERROR_FIELDS = {"RequestId", "Code", "Message", "HostId", "Recommend"}
# Models whose comments leave out the words of fields other models document for the same
# object: ListAccounts's member is GetAccount's (seven Status words, Type, JoinMethod) and
# UpdateAccount's (which adds Status Removed and SwitchSuccess).
ALIBABA_WORDS_FROM = {
    "ListAccountsResponseBodyAccountsAccount": [
        "GetAccountResponseBodyAccount", "UpdateAccountResponseBodyAccount",
    ],
}


class Checker:
    def __init__(self):
        self.problems = []
        self.words = {}

    def problem(self, where, text):
        self.problems.append(f"{where}: {text}")

    def saw(self, where, value):
        # One entry a field, whichever list item it was seen in.
        self.words.setdefault(re.sub(r"\[\d+\]", "", where), set()).add(str(value))


def scalar_ok(kind, value):
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return None  # not a scalar


# ---- Alibaba: darabonba models ------------------------------------------------------------

def alibaba_fields(cls):
    """JSON name -> (attribute, annotation, documented words or None) of a darabonba model."""
    from_map = inspect.getsource(cls.from_map)
    names = dict(re.findall(r"if m\.get\('(\w+)'\) is not None:\s*\n\s*(?:temp_model = [^\n]*\n\s*)?self\.(\w+)", from_map))
    # Lists of models are filled in a loop: `self.x = []` then `self.x.append(...)`, the list
    # made after the test in older models and before it in newer ones.
    names.update(re.findall(r"if m\.get\('(\w+)'\):\s*\n\s*self\.(\w+) = \[\]", from_map))
    names.update((k, v) for v, k in re.findall(r"self\.(\w+) = \[\]\s*\n\s*if m\.get\('(\w+)'\) is not None:", from_map))
    init = inspect.getsource(cls.__init__)
    params = inspect.signature(cls.__init__).parameters
    fields = {}
    for json_name, attr in names.items():
        annotation = params[attr].annotation if attr in params else None
        comment = re.search(r"((?:\s*#[^\n]*\n)+)\s*self\.%s = %s\b" % (attr, attr), init)
        words = None
        if comment and "Valid values" in comment.group(1):
            words = set()
            for line in comment.group(1).splitlines():
                m = re.match(r"\s*#\s*-\s*`?([A-Za-z0-9_.]+)`?\s*(?::|$)", line)
                if m:
                    words.add(m.group(1))
        fields[json_name] = (attr, annotation, words)
    for other in ALIBABA_WORDS_FROM.get(cls.__name__, []):
        documented = alibaba_fields(getattr(sys.modules[cls.__module__].main_models, other))
        for json_name, (attr, annotation, words) in list(fields.items()):
            theirs = documented.get(json_name, (None, None, None))[2]
            if words is None and theirs is None:
                continue
            fields[json_name] = (attr, annotation, (words or set()) | (theirs or set()))
    return fields


def alibaba_model(module, name):
    # The package exports every class from `models`; nested ones are named in the annotation.
    return getattr(module, name.split(".")[-1])


def check_alibaba_value(c, module, where, annotation, value, words):
    kind = annotation.strip() if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    list_of = re.fullmatch(r"List\[(.+)\]", kind)
    if list_of:
        if not isinstance(value, list):
            return c.problem(where, f"the model says a list, the answer has {type(value).__name__}")
        for i, item in enumerate(value):
            check_alibaba_value(c, module, f"{where}[{i}]", list_of.group(1), item, words)
        return
    if kind.startswith("Dict["):
        if not isinstance(value, dict):
            c.problem(where, f"the model says a map, the answer has {type(value).__name__}")
        return
    ok = scalar_ok(kind, value)
    if ok is None:
        if not isinstance(value, dict):
            return c.problem(where, f"the model says {kind}, the answer has {type(value).__name__}")
        return check_alibaba_object(c, module, where, alibaba_model(module, kind), value)
    if not ok:
        return c.problem(where, f"the model says {kind}, the answer has {json.dumps(value)}")
    if words is not None:
        c.saw(where, value)
        if str(value) not in words:
            c.problem(where, f"{value!r} is not one of the words the model documents {sorted(words)}")


def check_alibaba_object(c, module, where, cls, body):
    cls().from_map(body)  # the SDK's own decoding must take it
    fields = alibaba_fields(cls)
    for name, value in body.items():
        if name not in fields:
            c.problem(where, f"{name} is not a field of {cls.__name__} (it has {sorted(fields)})")
            continue
        _, annotation, words = fields[name]
        check_alibaba_value(c, module, f"{where}.{name}", annotation, value, words)


def check_alibaba(module):
    def check(c, answer):
        action, status, body = answer["action"], answer["status"], json.loads(answer["body"])
        if not 200 <= status < 300:
            extra = set(body) - ALIBABA_ERROR_FIELDS
            if extra or "Code" not in body:
                c.problem(action, f"an error answer with fields {sorted(body)}")
            return
        check_alibaba_object(c, module, action, getattr(module, f"{action}ResponseBody"), body)
    return check


# ---- Tencent: AbstractModel classes -------------------------------------------------------

def tencent_fields(cls):
    """Name -> (type, documented words or None) from the model's `:param _X:`/`:type X:` lines."""
    doc = cls.__init__.__doc__ or ""
    fields = {}
    for name, text, kind in re.findall(r":param _(\w+):(.*?):type \1: ([^\n]+)", doc, re.S):
        fields[name] = (kind.strip(), tencent_words(text, kind.strip()))
    return fields


def tencent_words(text, kind):
    if kind == "str":
        words = re.findall(r"[（(]([A-Za-z][A-Za-z0-9_]*)[）)]", text)
        # Organization's models write a word after its meaning: `邀请：Invite， 创建：Create`.
        words = words or re.findall(r"[\u4e00-\u9fff][:：]\s*([A-Za-z][A-Za-z0-9_]*)", text)
    elif kind == "int":
        words = re.findall(r"(?<![\d.])(\d+)\s*[:：]", text)
    else:
        words = []
    return set(words) if len(set(words)) >= 2 else None


def check_tencent_value(c, module, where, kind, value, words):
    list_of = re.fullmatch(r"list of (\w+)", kind)
    if list_of:
        if not isinstance(value, list):
            return c.problem(where, f"the model says a list, the answer has {type(value).__name__}")
        for i, item in enumerate(value):
            check_tencent_value(c, module, f"{where}[{i}]", list_of.group(1), item, words)
        return
    nested = re.fullmatch(r":class:`[\w.]+\.(\w+)`", kind)
    if nested or (scalar_ok(kind, value) is None and hasattr(module, kind)):
        if not isinstance(value, dict):
            return c.problem(where, f"the model says an object, the answer has {type(value).__name__}")
        return check_tencent_object(c, module, where, getattr(module, nested.group(1) if nested else kind), value)
    ok = scalar_ok(kind, value)
    if ok is None:
        return c.problem(where, f"the model's type {kind} is not one this check knows")
    if value is None:
        return  # "此字段可能返回 null"
    if not ok:
        return c.problem(where, f"the model says {kind}, the answer has {json.dumps(value)}")
    if words is not None:
        c.saw(where, value)
        if str(value) not in words:
            c.problem(where, f"{value!r} is not one of the words the model documents {sorted(words)}")


def check_tencent_object(c, module, where, cls, body):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cls()._deserialize(body)  # the SDK's own decoding; it warns of fields it does not know
    for w in caught:
        c.problem(where, f"{cls.__name__}: {w.message}")
    fields = tencent_fields(cls)
    for name, value in body.items():
        if name in fields:
            kind, words = fields[name]
            check_tencent_value(c, module, f"{where}.{name}", kind, value, words)


def check_tencent(module, errorcodes):
    codes = {v for k, v in vars(errorcodes).items() if k.isupper() and isinstance(v, str)}

    def check(c, answer):
        action = answer["action"]
        envelope = json.loads(answer["body"])
        if answer["status"] != 200 or set(envelope) != {"Response"}:
            return c.problem(action, f"HTTP {answer['status']}, fields {sorted(envelope)}: not Tencent's envelope")
        response = envelope["Response"]
        if "Error" in response:
            error = response["Error"]
            if set(response) != {"Error", "RequestId"} or set(error) != {"Code", "Message"}:
                c.problem(action, f"an error answer with fields {sorted(response)}, Error {sorted(error)}")
            code = error.get("Code")
            c.saw(f"{action}.Error.Code", code)
            if code not in codes and code not in TENCENT_COMMON_ERRORS:
                c.problem(action, f"error code {code!r} is neither in the SDK's errorcodes.py nor a common error")
            return
        check_tencent_object(c, module, action, getattr(module, f"{action}Response"), response)
    return check


# ---- AWS: botocore service models ---------------------------------------------------------

def local(tag):
    return tag.rsplit("}", 1)[-1]


def check_aws_xml(c, where, shape, element):
    kind = shape.type_name
    if kind == "structure":
        for child in element:
            name = local(child.tag)
            member = next((m for n, m in shape.members.items()
                           if (m.serialization.get("name") or n) == name), None)
            if member is None:
                c.problem(where, f"{name} is not a member of {shape.name} (it has {sorted(shape.members)})")
                continue
            check_aws_xml(c, f"{where}.{name}", member, child)
        return
    if kind == "list":
        for i, child in enumerate(element):
            check_aws_xml(c, f"{where}[{i}]", shape.member, child)
        return
    text = element.text or ""
    if kind == "string" and shape.enum:
        c.saw(where, text)
        if text not in shape.enum:
            c.problem(where, f"{text!r} is not one of {shape.name}'s words {shape.enum}")
    elif kind == "blob":
        try:
            base64.b64decode(text, validate=True)
        except ValueError:
            c.problem(where, "not base64, as a blob must be")
    elif kind == "timestamp":
        try:
            botocore.parsers.DEFAULT_TIMESTAMP_PARSER(text)
        except ValueError:
            c.problem(where, f"{text!r} is not a timestamp")
    elif kind == "boolean" and text not in ("true", "false"):
        c.problem(where, f"{text!r} is not a boolean")


def check_aws(service, api_version):
    loader = botocore.loaders.create_loader()
    model = botocore.model.ServiceModel(loader.load_service_model(service, "service-2", api_version))

    def check(c, answer):
        action, status, body = answer["action"], answer["status"], answer["body"]
        operation = model.operation_model(action)
        parser = botocore.parsers.create_parser(model.metadata["protocol"])
        parsed = parser.parse({"body": body.encode(), "headers": {}, "status_code": status},
                              operation.output_shape)
        root = ET.fromstring(body)
        if status >= 300:
            codes = {s.metadata.get("error", {}).get("code", s.name) for s in operation.error_shapes}
            code = parsed.get("Error", {}).get("Code")
            c.saw(f"{action}.Error.Code", code)
            if local(root.tag) != "ErrorResponse" or (code not in codes and code not in AWS_COMMON_ERRORS):
                c.problem(action, f"error {code!r}: neither {action}'s errors {sorted(codes)} nor a common error")
            return
        if local(root.tag) != f"{action}Response":
            return c.problem(action, f"root element {local(root.tag)}")
        wrapper = operation.output_shape.serialization.get("resultWrapper")
        for child in root:
            if local(child.tag) == wrapper:
                check_aws_xml(c, action, operation.output_shape, child)
            elif local(child.tag) != "ResponseMetadata":
                c.problem(action, f"{local(child.tag)} is neither {wrapper} nor ResponseMetadata")
    return check


def python_pattern(pattern):
    """A model's pattern as Python reads it; the few in Java's dialect Python cannot read
    (`\\p{L}`, the tag keys') are left unchecked rather than guessed at."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


def check_aws_json_value(c, where, shape, value):
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return c.problem(where, f"the model says a structure, the answer has {type(value).__name__}")
        for name, item in value.items():
            if name not in shape.members:
                c.problem(where, f"{name} is not a member of {shape.name} (it has {sorted(shape.members)})")
                continue
            check_aws_json_value(c, f"{where}.{name}", shape.members[name], item)
        return
    if kind == "list":
        if not isinstance(value, list):
            return c.problem(where, f"the model says a list, the answer has {type(value).__name__}")
        for i, item in enumerate(value):
            check_aws_json_value(c, f"{where}[{i}]", shape.member, item)
        return
    if kind == "string":
        if not isinstance(value, str):
            return c.problem(where, f"the model says a string, the answer has {json.dumps(value)}")
        if shape.enum:
            c.saw(where, value)
            if value not in shape.enum:
                c.problem(where, f"{value!r} is not one of {shape.name}'s words {shape.enum}")
        pattern = python_pattern(shape.metadata.get("pattern"))
        if pattern and not pattern.fullmatch(value):
            c.problem(where, f"{value!r} does not match {shape.name}'s pattern {pattern.pattern}")
    elif kind == "timestamp" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        c.problem(where, f"a JSON timestamp is epoch seconds, the answer has {json.dumps(value)}")


def check_aws_json(service, api_version):
    """A JSON-protocol API (Organizations): botocore's own parser must take the answer, and
    every name, type, enumerated word and pattern must be the model's."""
    loader = botocore.loaders.create_loader()
    model = botocore.model.ServiceModel(loader.load_service_model(service, "service-2", api_version))

    def check(c, answer):
        action, status, body = answer["action"], answer["status"], answer["body"]
        operation = model.operation_model(action)
        parser = botocore.parsers.create_parser(model.metadata["protocol"])
        parser.parse({"body": body.encode(), "headers": {}, "status_code": status},
                     operation.output_shape)
        value = json.loads(body)
        if status >= 300:
            codes = {s.name for s in operation.error_shapes}
            code = value.get("__type", "").rsplit("#", 1)[-1]
            c.saw(f"{action}.Error.Code", code)
            if code not in codes and code not in AWS_COMMON_ERRORS:
                c.problem(action, f"error {code!r}: neither {action}'s errors {sorted(codes)} nor a common error")
            return
        check_aws_json_value(c, action, operation.output_shape, value)
    return check


CHECKERS = {
    "aws-iam": check_aws("iam", "2010-05-08"),
    "aws-organizations": check_aws_json("organizations", "2016-11-28"),
    "aws-sts": check_aws("sts", "2011-06-15"),
    "alibaba-ims": check_alibaba(ims_models),
    "alibaba-sts": check_alibaba(ali_sts_models),
    "alibaba-resourcemanager": check_alibaba(rm_models),
    "tencent-cam": check_tencent(cam_models, cam_errorcodes),
    "tencent-sts": check_tencent(tc_sts_models, tc_sts_errorcodes),
    "tencent-organization": check_tencent(organization_models, organization_errorcodes),
}


def main():
    answers = json.load(sys.stdin)["answers"]
    c = Checker()
    for answer in answers:
        try:
            CHECKERS[answer["api"]](c, answer)
        except Exception as e:  # the SDK could not decode it at all
            c.problem(answer.get("action", "?"), f"the SDK model refused it: {type(e).__name__}: {e}")
    json.dump({"problems": c.problems, "checked": len(answers),
               "words": {k: sorted(v) for k, v in sorted(c.words.items())}}, sys.stdout)


if __name__ == "__main__":
    main()
