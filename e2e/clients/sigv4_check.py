"""What botocore (the AWS SDK for Python's core) signs for a request ai-proxy sent to Bedrock.

Reads one JSON object on stdin - the request as the LLM mock recorded it (`method`, `host`,
`path`, `query`, `body`), the signing time (`amz_date`), the credentials (`access_key`,
`secret_key`, optional `session_token`) and `region` - and prints the `Authorization` header
botocore's SigV4 signer computes for it, signing the same headers the gateway signs (`host`,
`x-amz-date`, `x-amz-security-token`). The e2e suite compares it with what the gateway sent.
"""

import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    given = json.load(sys.stdin)
    when = datetime.datetime.strptime(given["amz_date"], "%Y%m%dT%H%M%SZ")
    # The gateway signed at its own clock: botocore signs at the same instant.
    botocore.auth.get_current_datetime = lambda *args, **kwargs: when
    url = "https://" + given["host"] + given["path"]
    if given.get("query"):
        url += "?" + given["query"]
    request = AWSRequest(method=given["method"], url=url, data=given["body"].encode("utf-8"))
    credentials = Credentials(given["access_key"], given["secret_key"], given.get("session_token"))
    botocore.auth.SigV4Auth(credentials, "bedrock", given["region"]).add_auth(request)
    print(request.headers["Authorization"])


if __name__ == "__main__":
    main()
