"""Registration links and LMS registration tokens are credentials: access logs never show them."""

from __future__ import annotations

import logging

from web.redaction import RedactJoinTokens, redact


def test_registration_links_and_tokens_are_cut_out_of_log_lines() -> None:
    line = (
        "GET /lti/register/eyJhbGciOi.abc.def?openid_configuration=https%3A%2F%2Fm&registration_token=s3cr3t HTTP/1.1"
    )
    cut = redact(line)
    assert "eyJhbGciOi" not in cut and "s3cr3t" not in cut
    assert cut.startswith("GET /lti/register/[token]?openid_configuration=") and "registration_token=[token]" in cut
    assert redact("GET /join/abcDEF123 HTTP/1.1") == "GET /join/[token] HTTP/1.1"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s "%s"', ("1.2.3.4", line), None)
    RedactJoinTokens().filter(record)
    assert "s3cr3t" not in record.getMessage() and "eyJhbGciOi" not in record.getMessage()
