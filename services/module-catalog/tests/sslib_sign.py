"""Signs a module manifest the way an independent implementation does: a DSSE
envelope made and signed by securesystemslib (the library in-toto and TUF
build on), one Ed25519 and one ECDSA P-256 signature, each with its own key.

    python sslib_sign.py MANIFEST_FILE

Prints {"envelope": …, "keys": [{"keyid", "algorithm", "public_key"}]} as JSON.
"""

import json
import sys

from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

PAYLOAD_TYPE = "application/vnd.plinth.module-manifest+json"
ALGORITHMS = {"ed25519": "ed25519", "ecdsa-sha2-nistp256": "ecdsa-p256"}

with open(sys.argv[1], "rb") as f:
    body = f.read()
envelope = Envelope(payload=body, payload_type=PAYLOAD_TYPE, signatures={})
signers = [CryptoSigner.generate_ed25519(), CryptoSigner.generate_ecdsa()]
keys = []
for signer in signers:
    envelope.sign(signer)
    public = signer.public_key
    keys.append(
        {
            "keyid": public.keyid,
            "algorithm": ALGORITHMS[public.scheme],
            "public_key": public.keyval["public"],
        }
    )
# The envelope verifies by securesystemslib's own reading before it leaves.
envelope.verify([s.public_key for s in signers], len(signers))
print(json.dumps({"envelope": envelope.to_dict(), "keys": keys}))
