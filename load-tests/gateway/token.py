#!/usr/bin/env python3
"""Prints an access token of a demo user of the identity provider at $1, got
through the authorization-code flow with PKCE as the gateway's client would:
the bearer token the benchmark's requests carry.

Usage: token.py ISSUER USER REDIRECT_URI CLIENT_SECRET
"""

import base64
import hashlib
import json
import secrets
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "dev"))
from seed import Browser  # noqa: E402


def main():
    issuer, user, redirect, secret = sys.argv[1:5]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "client_id": "plinth-gateway", "response_type": "code",
        "scope": "openid email profile groups api", "redirect_uri": redirect,
        "code_challenge": challenge, "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
    })
    browser = Browser()
    back = browser.authorize(f"{issuer}/auth?{query}", user, redirect)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)["code"][0]
    basic = base64.b64encode(f"plinth-gateway:{secret}".encode()).decode()
    status, _, body = browser.send(
        "POST", f"{issuer}/token", headers={"authorization": f"Basic {basic}"},
        form={"grant_type": "authorization_code", "code": code,
              "redirect_uri": redirect, "code_verifier": verifier})
    if status != 200:
        raise SystemExit(f"the token endpoint answered {status}: {body[:300]!r}")
    print(json.loads(body)["access_token"])


if __name__ == "__main__":
    main()
