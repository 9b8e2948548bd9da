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

Signatures are not checked (tests/it/fetch/ does that); the account an IAM call is for is
read from the access key id the assumed role's credentials gave it.
"""

import base64
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORGANIZATION = "o-e2eexample1"
MANAGEMENT = "210000000000"
ACCOUNTS = [
    {"id": "210000000001", "name": "payments", "tags": [("team", "billing")], "allowed": True},
    {"id": "210000000002", "name": "sandbox-7", "tags": [], "allowed": False},
]
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class FakeAwsOrganization:
    def __init__(self, report_csv: bytes):
        self.report = report_csv
        self.generated = time.time() - 3600
        self.calls = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, content_type, answer = fake.answer(self.headers, body)
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

    def answer(self, headers, body):
        target = headers.get("X-Amz-Target", "")
        if target:
            action = target.rpartition(".")[2]
            self.calls.append(action)
            return self.organizations(action, json.loads(body or b"{}"))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        action = form.get("Action", "")
        self.calls.append(action)
        if action == "AssumeRole":
            return self.assume_role(form)
        key = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
        account = key.group(1)[-12:] if key and key.group(1).startswith("ASIA") else MANAGEMENT
        return self.iam(action, account)

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
            return 403, "text/xml", (
                f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
                f"<Message>not authorized to perform: sts:AssumeRole</Message></Error>"
                f"<RequestId>00000000-e2e</RequestId></ErrorResponse>")
        role = arn.rpartition(":role/")[2]
        return 200, "text/xml", (
            f'<AssumeRoleResponse xmlns="{STS_NS}"><AssumeRoleResult><AssumedRoleUser>'
            f"<AssumedRoleId>AROAE2EEXAMPLEROLE:{form.get('RoleSessionName', '')}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account['id']}:assumed-role/{role}/{form.get('RoleSessionName', '')}</Arn></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>ASIAE2EX{account['id']}</AccessKeyId><SecretAccessKey>e2e-secret</SecretAccessKey>"
            f"<SessionToken>e2e-session</SessionToken><Expiration>{iso(time.time() + 900)}</Expiration></Credentials>"
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
