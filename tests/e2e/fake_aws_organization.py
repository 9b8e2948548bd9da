"""A small AWS on loopback for the end-to-end test's fetcher: an organization of two member
accounts (Organizations ListAccounts and ListTagsForResource), STS AssumeRole into each, and
IAM GenerateCredentialReport and GetCredentialReport in the assumed account.

The answers carry the words of botocore's models (organizations, sts, iam service-2.json), as
the fetcher's own fakes do (tests/cloud_fakes/aws.rs); the fetcher's tests hold those fakes
to the vendor's models, so this one only has to be enough for one honest round:

  * 210000000001 "payments" (tag team=billing): its role is assumed and its report is
    examples/reports/aws-prod.csv, generated an hour ago;
  * 210000000002 "sandbox-7" (no tags): AssumeRole is refused (AccessDenied) at once, as
    for a member without the role (the management account, say), so Prometheus first
    scrapes its failure counter at 1, and the alert must still fire.

Every request's SigV4 signature is checked on its own, by botocore's signer (in .venv, see
tests/requirements.txt): the request is rebuilt from its method, path, signed headers and
body, signed with the secret the fake knows for its access key id (the management key, or
the temporary keys AssumeRole issued, with their session token) at its X-Amz-Date, for the
service its action belongs to in us-east-1, and its Authorization must be what botocore
writes. A refused request is answered in AWS's words and kept in `refusals`, which the
test requires empty. The account an IAM call is for is the one its key was issued for.
"""

import base64
import datetime
import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ORGANIZATION = "o-e2eexample1"
MANAGEMENT = "210000000000"
ACCOUNTS = [
    {"id": "210000000001", "name": "payments", "tags": [("team", "billing")], "allowed": True},
    {"id": "210000000002", "name": "sandbox-7", "tags": [], "allowed": False},
]
# The fetcher's own credentials: the test gives them to it, the fake checks them.
MANAGEMENT_KEY_ID, MANAGEMENT_SECRET = "AKIAE2EEXAMPLE000001", "e2e-management-secret"
REGION = "us-east-1"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=(\w+)/\d{8}/([\w-]+)/([\w-]+)/aws4_request, "
                           r"SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}")
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"

# A key the fake knows: its secret, its session token (None for a long-term key), and
# the account it acts in.
Credential = namedtuple("Credential", "secret token account")


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class FakeAwsOrganization:
    def __init__(self, report_csv: bytes):
        self.report = report_csv
        self.generated = time.time() - 3600
        self.credentials = {MANAGEMENT_KEY_ID: Credential(MANAGEMENT_SECRET, None, MANAGEMENT)}
        self.lock = threading.Lock()
        self.calls = []
        # Every request refused for its signature: "action: code (why)", never a secret.
        self.refusals = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, content_type, answer = fake.answer(self.command, self.path, self.headers, body)
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", "00000000-e2e")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()

    def answer(self, method, path, headers, body):
        target = headers.get("X-Amz-Target", "")
        if target:
            action, service = target.rpartition(".")[2], "organizations"
        else:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            action = form.get("Action", "")
            service = "sts" if action == "AssumeRole" else "iam"
        with self.lock:
            self.calls.append(action)
            refusal = self.verify(method, path, headers, body, service)
            if refusal:
                self.refusals.append(f"{action}: {refusal[1]} ({refusal[2]})")
        if refusal:
            return self.error(service, *refusal)
        credential = self.credentials[AUTHORIZATION.match(headers["Authorization"]).group(1)]
        if service == "organizations":
            return self.organizations(action, json.loads(body or b"{}"))
        if service == "sts":
            return self.assume_role(form)
        return self.iam(action, credential.account)

    def verify(self, method, path, headers, body, service):
        """None if the request is signed as botocore signs it with the key's secret, else
        (status, code, why) as AWS refuses it. Called under self.lock."""
        authorization, amz_date = headers.get("Authorization", ""), headers.get("X-Amz-Date", "")
        match = AUTHORIZATION.fullmatch(authorization)
        if not match or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
            return 400, "IncompleteSignature", "no well-formed Authorization and X-Amz-Date"
        key_id, region, signed_service, signed_names = match.groups()
        credential = self.credentials.get(key_id)
        if credential is None:
            return 403, "InvalidClientTokenId", "an access key id the fake never issued"
        if (signed_service, region) != (service, REGION):
            return 403, "SignatureDoesNotMatch", f"scope {signed_service}/{region}, expected {service}/{REGION}"
        if headers.get("X-Amz-Security-Token") != credential.token:
            return 403, "InvalidClientTokenId", "session token missing or not the one issued with the key"
        signed_at = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP)
        if abs(signed_at.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()) > 900:
            return 403, "SignatureDoesNotMatch", "Signature expired: X-Amz-Date is more than 15 minutes away"
        names = signed_names.split(";")
        if any(headers.get(name) is None for name in names):
            return 403, "SignatureDoesNotMatch", "a signed header is missing"
        # botocore takes a X-Amz-Content-SHA256 header on trust; AWS does not.
        declared = headers.get("X-Amz-Content-SHA256")
        if declared is not None and declared != hashlib.sha256(body).hexdigest():
            return 400, "XAmzContentSHA256Mismatch", "X-Amz-Content-SHA256 is not the body's hash"
        request = AWSRequest(method=method, url=f"http://{headers['Host']}{path}", data=body,
                             headers={name: headers[name] for name in names})
        # add_auth signs at the current time; the request was signed at its X-Amz-Date.
        # The patch is global, hence under self.lock.
        with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
            SigV4Auth(Credentials(key_id, credential.secret, credential.token), service, REGION).add_auth(request)
        if request.headers["Authorization"] != authorization:
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
        return None

    @staticmethod
    def error(service, status, code, message):
        if service == "organizations":
            return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message})
        namespace = STS_NS if service == "sts" else IAM_NS
        return status, "text/xml", (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>00000000-e2e</RequestId></ErrorResponse>")

    def organizations(self, action, request):
        json_type = "application/x-amz-json-1.1"
        if action == "ListAccounts":
            accounts = [{"Id": a["id"], "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORGANIZATION}/{a['id']}",
                         "Email": f"{a['name']}@example.com", "Name": a["name"], "Status": "ACTIVE", "State": "ACTIVE",
                         "JoinedMethod": "CREATED", "JoinedTimestamp": 1.7e9} for a in ACCOUNTS]
            return 200, json_type, json.dumps({"Accounts": accounts})
        if action == "ListTagsForResource":
            account = next((a for a in ACCOUNTS if a["id"] == request.get("ResourceId")), None)
            if account is None:
                return 400, json_type, json.dumps({"__type": "TargetNotFoundException", "Message": "no such account"})
            return 200, json_type, json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in account["tags"]]})
        return 400, json_type, json.dumps({"__type": "InvalidInputException", "Message": f"{action} is not faked"})

    def assume_role(self, form):
        arn = form.get("RoleArn", "")
        account = next((a for a in ACCOUNTS if f":{a['id']}:" in arn), None)
        if account is None or not account["allowed"]:
            return self.error("sts", 403, "AccessDenied", "not authorized to perform: sts:AssumeRole")
        # A key of its own each time, known from now on, as STS issues them.
        with self.lock:
            key_id = f"ASIAE2EISSUED{len(self.credentials):07d}"
            issued = Credential(f"e2e-temporary-secret-{key_id[-7:]}", f"e2e-session-token-{key_id[-7:]}", account["id"])
            self.credentials[key_id] = issued
        role = arn.rpartition(":role/")[2]
        return 200, "text/xml", (
            f'<AssumeRoleResponse xmlns="{STS_NS}"><AssumeRoleResult><AssumedRoleUser>'
            f"<AssumedRoleId>AROAE2EEXAMPLEROLE:{form.get('RoleSessionName', '')}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account['id']}:assumed-role/{role}/{form.get('RoleSessionName', '')}</Arn></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{issued.secret}</SecretAccessKey>"
            f"<SessionToken>{issued.token}</SessionToken><Expiration>{iso(time.time() + 900)}</Expiration></Credentials>"
            f"</AssumeRoleResult><ResponseMetadata><RequestId>00000000-e2e</RequestId></ResponseMetadata></AssumeRoleResponse>")

    def iam(self, action, account):
        if action == "GenerateCredentialReport":
            return 200, "text/xml", (
                f'<GenerateCredentialReportResponse xmlns="{IAM_NS}"><GenerateCredentialReportResult>'
                f"<State>COMPLETE</State><Description>e2e</Description></GenerateCredentialReportResult>"
                f"<ResponseMetadata><RequestId>00000000-e2e</RequestId></ResponseMetadata></GenerateCredentialReportResponse>")
        if action == "GetCredentialReport" and account != MANAGEMENT:
            content = base64.b64encode(self.report).decode()
            return 200, "text/xml", (
                f'<GetCredentialReportResponse xmlns="{IAM_NS}"><GetCredentialReportResult>'
                f"<Content>{content}</Content><ReportFormat>text/csv</ReportFormat>"
                f"<GeneratedTime>{iso(self.generated)}</GeneratedTime></GetCredentialReportResult>"
                f"<ResponseMetadata><RequestId>00000000-e2e</RequestId></ResponseMetadata></GetCredentialReportResponse>")
        return 400, "text/xml", (
            f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>InvalidAction</Code>'
            f"<Message>{action} is not faked</Message></Error><RequestId>00000000-e2e</RequestId></ErrorResponse>")
