"""Runs `scim2 test` (scim2-cli + scim2-tester) against a Portcullis SCIM endpoint.

Portcullis requires `userName` to be the member's email address (an IdP's "unique
identifier = email"). scim2-tester fills string attributes with bare UUIDs, so this driver
makes its value generator produce `<uuid>@example.com` for `userName` and changes nothing
else; every check then runs as scim2-tester wrote it. See docs/scim.md.

Usage: python scim2_test.py URL TOKEN
"""

import sys
import uuid

import scim2_tester.checkers.patch_add as patch_add
import scim2_tester.checkers.patch_replace as patch_replace
import scim2_tester.filling as filling
from scim2_cli import cli

_original = filling.generate_random_value


def _generate(context, path, mutability=None, required=None):
    value = _original(context, path, mutability=mutability, required=required)
    if value is not None and str(path).split(":")[-1].lower() == "username":
        return f"{uuid.uuid4()}@example.com"
    return value


for module in (filling, patch_add, patch_replace):
    module.generate_random_value = _generate

if __name__ == "__main__":
    url, token = sys.argv[1], sys.argv[2]
    cli(["--url", url, "--header", f"Authorization: Bearer {token}", "test", *sys.argv[3:]])
