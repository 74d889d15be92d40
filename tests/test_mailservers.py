"""The tests' mail servers are real: certificates verified, TLS and AUTH required, restartable."""
import smtplib
import ssl
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient

from mailservers import HOST, PASSWORD, USER, mail_servers


@pytest.fixture
def servers(tmp_path):
    with mail_servers(tmp_path) as running:
        yield running


def _message(subject="侯寨乡 2016年9月报表") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "clerk@houzhai.example", "bureau@erqi.example", subject
    msg.set_content("见附件")
    return msg


def test_imap_verifies_the_certificate_and_keeps_what_is_appended(servers):
    ca, imap, _ = servers
    imap.append(_message())
    with IMAPClient(HOST, port=imap.port, ssl=True, ssl_context=ca.client_context()) as client:
        client.login(USER, PASSWORD)
        assert b"IDLE" in client.capabilities() and b"MOVE" in client.capabilities()
        client.select_folder("INBOX")
        (uid,) = client.search()
        got = client.fetch([uid], ["ENVELOPE"])[uid][b"ENVELOPE"]
        assert str(make_header(decode_header(got.subject.decode()))) == "侯寨乡 2016年9月报表"
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(HOST, port=imap.port, ssl=True, ssl_context=ssl.create_default_context())


def test_imap_restarts_on_the_same_port_with_the_mail_kept(servers):
    _, imap, _ = servers
    imap.append(_message(), folder="INBOX")
    port = imap.port
    imap.restart()
    assert imap.port == port and imap.count("INBOX") == 1


def test_smtp_needs_starttls_and_auth_and_can_refuse(servers):
    ca, _, smtp = servers
    with smtplib.SMTP(HOST, smtp.port) as s:
        with pytest.raises(smtplib.SMTPException):
            s.login(USER, PASSWORD)      # no AUTH before STARTTLS
    with smtplib.SMTP(HOST, smtp.port) as s:
        s.starttls(context=ca.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(USER, "wrong")
        s.login(USER, PASSWORD)
        s.send_message(_message())
        smtp.refuse()
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.send_message(_message("第二封"))
        assert refused.value.smtp_code == 451
    assert len(smtp.messages) == 1 and b"clerk@houzhai.example" in smtp.messages[0].content
