"""Parses mail files with Python's email package (an independent reader of notification's
mails). Arguments: paths of RFC 5322 messages (.eml files or maildir entries). Prints a JSON
list with, per message, its Message-ID, From, To, Subject, content type and the content types
of its parts; exits 1 if one cannot be parsed as a message with those headers."""

import email
import email.policy
import json
import sys

messages = []
for path in sys.argv[1:]:
    with open(path, "rb") as file:
        message = email.message_from_binary_file(file, policy=email.policy.default)
    if message["Message-ID"] is None or message["From"] is None:
        print(f"{path}: not a complete message", file=sys.stderr)
        sys.exit(1)
    parts = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
    plain = message.get_body(preferencelist=("plain",))
    messages.append({
        "message_id": message["Message-ID"],
        "from": str(message["From"]),
        "to": str(message["To"]),
        "subject": str(message["Subject"]),
        "content_type": message.get_content_type(),
        "parts": parts,
        "plain": plain.get_content() if plain is not None else None,
    })
print(json.dumps(messages))
