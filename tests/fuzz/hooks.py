"""Schemathesis hooks of `make fuzz` (run-schemathesis.sh loads them through SCHEMATHESIS_HOOKS).

- `X-On-Behalf-Of`: the fuzzer calls with a user token, and that header is only for service
  tokens, so any value of it answers 403 before a handler runs. A case carrying a well-formed
  value would test the token check (service-runtime's unit tests cover it) instead of the
  operation: well-formed values are dropped. Malformed ones (negative cases) are still sent and
  must be refused with a 4xx.
- `If-Match`: the document's example, `"1"`, stands for "the version the client last saw". The
  coverage and examples phases send it with every case, against one task whose version has
  long moved on, so every change would stop at 412 before it is applied. For that value the
  hook asks the API for the task's current `ETag` first, as a client that just read the task
  would send it. Other versions (drawn by the fuzzing phase) are sent as drawn: mostly 412.
"""

import os
import re

import requests
import schemathesis

ON_BEHALF_OF = "X-On-Behalf-Of"
# The document's pattern for the header (api/openapi/patterns.rs, ON_BEHALF_OF).
WELL_FORMED_ON_BEHALF_OF = re.compile(r"^(?!service:)[!-~]{1,255}$")
IF_MATCH = "If-Match"
EXAMPLE_VERSION = '"1"'
BASE_URL = os.environ.get("FUZZ_BASE_URL")
TOKEN = os.environ.get("FUZZ_TOKEN")


def current_etag(task_id):
    """The task's ETag now, or None when it cannot be read (another user's, deleted, not an id)."""
    if not (BASE_URL and TOKEN and isinstance(task_id, str)):
        return None
    try:
        response = requests.get(
            f"{BASE_URL}/v1/tasks/{requests.utils.quote(task_id, safe='')}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
    except requests.RequestException:
        return None
    return response.headers.get("ETag") if response.status_code == 200 else None


@schemathesis.hook
def before_call(context, case, **kwargs):
    headers = case.headers
    if not headers:
        return
    value = headers.get(ON_BEHALF_OF)
    if isinstance(value, str) and WELL_FORMED_ON_BEHALF_OF.match(value):
        del headers[ON_BEHALF_OF]
    if headers.get(IF_MATCH) == EXAMPLE_VERSION:
        etag = current_etag((case.path_parameters or {}).get("id"))
        if etag is not None:
            headers[IF_MATCH] = etag
