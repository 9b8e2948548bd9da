"""Signs requests with botocore's SigV4Auth, for tests/fetch_aws_sigv4.rs: the fake AWS API's
verifier must accept what AWS's own Python SDK signs. Reads a JSON list of cases on stdin,
writes the signed headers of each as JSON on stdout."""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

out = []
for case in json.load(sys.stdin):
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        data=case["body"].encode(),
        headers=case["headers"],
    )
    credentials = Credentials(case["access_key_id"], case["secret"], case.get("token"))
    SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    out.append({"headers": [[k, v] for k, v in request.headers.items()]})
json.dump(out, sys.stdout)
