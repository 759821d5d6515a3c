"""Prints an HS256 JWT granting publishing to every topic, signed with the
secret given as the only argument (load runs' hubs, never a deployment)."""
import base64
import hashlib
import hmac
import json
import sys


def part(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = part(json.dumps({"mercure": {"publish": ["*"]}}).encode())
signature = hmac.new(sys.argv[1].encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
print(f"{head}.{claims}.{part(signature)}")
