"""Verifies one webhook delivery with the Standard Webhooks reference library (an independent
verifier of notification's signatures). Reads {"secret", "headers", "body"} as JSON on stdin;
exits 0 and prints the verified payload when the signature is accepted, 1 otherwise."""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

request = json.load(sys.stdin)
try:
    payload = Webhook(request["secret"]).verify(request["body"], request["headers"])
except WebhookVerificationError as error:
    print(f"refused: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(payload))
