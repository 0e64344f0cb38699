import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks.webhooks
import svix.webhooks

from fieldstone.webhooks.domain import signing

BODY = (
    b'{"type":"extraction.completed","timestamp":"2025-01-01T00:00:00.000Z","data":{"extractionId":"ext_1"}}'
)


def test_secret_is_whsec_and_32_random_bytes() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.generate_secret()


@pytest.mark.parametrize("verifier", [standardwebhooks.webhooks.Webhook, svix.webhooks.Webhook])
def test_signature_verifies_with_the_reference_libraries(verifier: type) -> None:
    secret = signing.generate_secret()
    headers = signing.signature_headers([secret], "evt_01JD2Z0000000000000000000", int(time.time()), BODY)
    verifier(secret).verify(BODY, headers)  # raises when the signature does not match


@pytest.mark.parametrize("verifier", [standardwebhooks.webhooks.Webhook, svix.webhooks.Webhook])
def test_signature_with_another_secret_is_rejected(verifier: type) -> None:
    headers = signing.signature_headers([signing.generate_secret()], "evt_1", int(time.time()), BODY)
    with pytest.raises(Exception, match="signature"):
        verifier(signing.generate_secret()).verify(BODY, headers)


def test_tampered_body_is_rejected() -> None:
    secret = signing.generate_secret()
    headers = signing.signature_headers([secret], "evt_1", int(time.time()), BODY)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.webhooks.Webhook(secret).verify(BODY.replace(b"ext_1", b"ext_2"), headers)


def test_during_a_rotation_both_secrets_sign() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    headers = signing.signature_headers([old, new], "evt_1", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.webhooks.Webhook(secret).verify(BODY, headers)


def test_signature_matches_the_reference_signer_byte_for_byte() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    moment = datetime.fromtimestamp(1_700_000_000, UTC)
    reference = standardwebhooks.webhooks.Webhook(secret).sign("msg_1", moment, BODY.decode())
    assert signing.sign(secret, "msg_1", 1_700_000_000, BODY) == reference
