"""Signs the requests tests/it/sign_sdk.rs sends on stdin with the clouds' own Python SDKs
(alibabacloud-openapi-util, tencentcloud-sdk-python-common) and prints what they produce, so
the Rust signers are checked against the official ones on the same inputs.

stdin: a JSON list of cases; stdout: a JSON list, one answer per case, in order.
"""
import hashlib
import json
import sys
import time
from unittest import mock

from alibabacloud_openapi_util.client import Client as AliUtil
from Tea.request import TeaRequest
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile


def alibaba(case):
    request = TeaRequest()
    request.method = case["method"]
    request.pathname = "/"
    request.query = dict(case["query"])
    request.headers = dict(case["headers"])
    payload = hashlib.sha256(case["body"].encode("utf-8")).hexdigest()
    return {
        "authorization": AliUtil.get_authorization(
            request, "ACS3-HMAC-SHA256", payload, case["key_id"], case["secret"]
        )
    }


def tencent(case):
    http = HttpProfile(endpoint=case["host"])
    client = CommonClient(
        case["service"],
        case["version"],
        Credential(case["secret_id"], case["secret_key"], case.get("token")),
        case.get("region") or "",
        profile=ClientProfile(httpProfile=http),
    )
    req = RequestInternal(case["host"], "POST", "/")
    # The SDK reads the clock; pin it to the case's timestamp.
    with mock.patch.object(time, "time", return_value=case["timestamp"]):
        client._build_req_with_tc3_signature(case["action"], case["params"], req)
    return {"body": req.data, "headers": req.header}


cases = json.load(sys.stdin)
json.dump([alibaba(c) if c["cloud"] == "alibaba" else tencent(c) for c in cases], sys.stdout)
