"""The cloud adaptors' libraries (botocore for Bedrock, google-auth for Vertex AI) load only when a channel of
that type serves a request: importing the app and the adaptor registry leaves them out (idle RSS stays)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import oneapi_app.oneapi_app
from oneapi_app.relay.adaptors import adaptor_for
assert adaptor_for(33).family == "bedrock" and adaptor_for(42).family == "vertex"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("botocore", "google", "jmespath", "dateutil", "rsa",
                                                              "pyasn1", "pyasn1_modules"))
print(",".join(loaded))
"""


def test_importing_the_app_loads_neither_botocore_nor_google_auth():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
