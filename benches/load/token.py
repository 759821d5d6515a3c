"""The key of the load runs' hubs (never a deployment's) and a token for it.

    token.py           prints an HS256 JWT granting publishing to every topic
    token.py --secret  prints the key it is signed with
"""
import base64
import hashlib
import hmac
import json
import sys


def part(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


SECRET = "load-run-secret-not-for-deployment"
if sys.argv[1:] == ["--secret"]:
    print(SECRET)
    sys.exit(0)

head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = part(json.dumps({"mercure": {"publish": ["*"]}}).encode())
signature = hmac.new(SECRET.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
print(f"{head}.{claims}.{part(signature)}")
