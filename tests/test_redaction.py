"""The detectors of redaction.py, with real-looking but fake keys, and what they must leave alone."""
import hashlib

import pandas as pd
import pytest

from codeact_jupyter.kernel.outputs_text import format_observation, output_text
from codeact_jupyter.context.redaction import Redactor, looks_secret

# Fake keys in the real formats (none of them works anywhere).
OPENAI = "sk-proj-Zq3Xv9LmN2bT7yR4kW8pA1sD6fG0hJ5c"
ANTHROPIC = "sk-ant-api03-Qw9Er8Ty7Ui6Op5As4Df3Gh2Jk1Lz0Xc-AA"
GITHUB = "ghp_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
AWS = "AKIAIOSFODNN7EXAMPLE"
SLACK = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
GOOGLE = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq9\nZm9vYmFy\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("text, secret, label", [
    (f"client = OpenAI(api_key='{OPENAI}')", OPENAI, "OpenAI key"),
    (f"key is {ANTHROPIC} ok", ANTHROPIC, "Anthropic key"),
    (f"token {GITHUB}", GITHUB, "GitHub token"),
    (f"token {GITHUB_PAT}", GITHUB_PAT, "GitHub token"),
    (f"aws {AWS} here", AWS, "AWS access key"),
    (f"slack {SLACK}", SLACK, "Slack token"),
    (f"maps {GOOGLE}", GOOGLE, "Google API key"),
    (f"hub {HF}", HF, "Hugging Face token"),
    (f"Authorization: Bearer {JWT}", JWT, "JWT"),
    (f"the key:\n{PEM}\nend", "MIIEpAIBAAKCAQEA7bq9", "private key"),
    ("engine = create_engine('postgresql://admin:s3cr3t-pw@db.local/sales')", "s3cr3t-pw", "password in a URL"),
])
def test_well_known_formats_are_masked_wherever_they_appear(text, secret, label):
    redactor = Redactor.for_task({}, environ={})
    masked = redactor.redact(text)
    assert secret not in masked
    assert f"[redacted: {label}]" in masked
    assert redactor.counts() == {label: 1}


@pytest.mark.parametrize("text", [
    "The monkey keyed in the tokens of the session.",
    "df.sort_values(key=len); d.keys(); for key in d: print(key)",
    "sk-learn is a nickname; a short sk-abc123",
    "https://example.com/path?page=2 and user@example.com",
    hashlib.sha256(b"x").hexdigest() + " " + hashlib.md5(b"y").hexdigest(),
    "AKIA is a prefix; AIza too",
    "ACGT" * 80,  # a long DNA string is not base64
])
def test_ordinary_text_is_left_alone(text):
    redactor = Redactor.for_task({"key": "name", "tokens": ["the", "quick", "brown"]}, environ={})
    assert redactor.redact(text) == text
    assert redactor.withheld == 0


@pytest.mark.parametrize("name, secret", [
    ("api_key", True), ("OPENAI_KEY", True), ("db_password", True), ("dbPassword", True),
    ("GITHUB_TOKEN", True), ("aws_secret_access_key", True), ("pwd", True), ("passwd", True),
    ("credentials", True), ("auth", True), ("session_cookie", True), ("apikey", True),
    ("client_secret", True), ("AccountKey", True), ("token", True), ("HF_TOKEN", True),
    ("monkey", False), ("keys", False), ("tokens", False), ("tokenizer", False), ("df", False),
    ("hockey_scores", False), ("author", False), ("passage", False), ("key", False),
    ("session", False), ("KeyError", False), ("TOX_TESTENV_PASSENV", False), ("token_count", False),
    ("sort_key", False), ("auth_method", False), ("spark_session", False), ("eos_token", False),
])
def test_secret_looking_names(name, secret):
    assert looks_secret(name) is secret


def test_names_that_only_may_hold_a_credential_count_when_the_value_looks_like_one():
    ns = {"pwd": "/home/ann/project", "token": "hello", "auth": ("ann", "s3cret-Pw-99"),
          "eos_token": "</s>", "GITHUB_TOKEN": "gh-Tok-2291-xyz"}
    redactor = Redactor.for_task(ns, environ={"DESKTOP_SESSION": "ubuntu", "TOX_TESTENV_PASSENV": "OPENBLAS_*"})
    assert redactor.redact("in /home/ann/project: hello ann s3cret-Pw-99 gh-Tok-2291-xyz") == (
        "in /home/ann/project: hello ann [redacted: value of auth] [redacted: value of GITHUB_TOKEN]")
    assert not redactor.withholds("pwd") and not redactor.withholds("token") and redactor.withholds("auth")


def test_the_models_code_is_rewritten_only_where_a_known_secret_appears():
    redactor = Redactor.for_task({"api_key": "sk-SECRET-456"}, environ={})
    code = 'password = "letmein-77"\nclient = Client(api_key="sk-SECRET-456")'
    assert redactor.redact_code(code) == 'password = "letmein-77"\nclient = Client(api_key="[redacted: value of api_key]")'
    assert redactor.redact(code).startswith('password = "[redacted: value of password]"')


def test_values_of_secret_names_are_masked_in_any_text_with_what_they_were():
    ns = {"api_key": "sk-SECRET-456", "password": "hunter2", "pwd": "ab",
          "config": {"db": {"password": "nested-pass-1"}, "host": "db.local"},
          "creds": [b"bytes-secret-9"],
          "users": pd.DataFrame({"user": ["ann", "bob"], "password": ["ann-pass-1", "bob-pass-2"],
                                 "sha1": [hashlib.sha1(b"a").hexdigest(), hashlib.sha1(b"b").hexdigest()]})}
    redactor = Redactor.for_task(ns, environ={"MY_SERVICE_TOKEN": "tok-Abc-12345", "DESKTOP_SESSION": "ubuntu",
                                              "HOME": "/home/me"}, backend_key="local-key-999")
    text = ("sk-SECRET-456 hunter2 nested-pass-1 bytes-secret-9 ann-pass-1 tok-Abc-12345 local-key-999 "
            "db.local ubuntu ab " + hashlib.sha1(b"a").hexdigest())
    masked = redactor.redact(text)
    for value in ("sk-SECRET-456", "hunter2", "nested-pass-1", "bytes-secret-9", "ann-pass-1",
                  "tok-Abc-12345", "local-key-999"):
        assert value not in masked
    assert masked.startswith("[redacted: value of api_key] [redacted: value of password] "
                             "[redacted: value of config['db']['password']] [redacted: value of creds] "
                             "[redacted: value of users['password']] "
                             "[redacted: value of environment variable MY_SERVICE_TOKEN] "
                             "[redacted: the backend's API key] ")
    # Short values and ordinary words are not hunted in free text; hashes stay.
    assert masked.endswith("db.local ubuntu ab " + hashlib.sha1(b"a").hexdigest())
    assert redactor.withheld == 7
    assert redactor.new_notice() == "7 secret values were withheld from the model."
    assert redactor.new_notice() is None


def test_a_long_secret_glued_to_other_text_is_masked_a_short_one_only_as_a_word():
    redactor = Redactor.for_task({"service_token": "tok-Abc-123456789", "password": "hunter2"}, environ={})
    masked = redactor.redact("url?t=tok-Abc-123456789&x=1 Xhunter2xyz hunter2")
    assert "tok-Abc-123456789" not in masked and "t=[redacted: value of service_token]&x=1" in masked
    assert masked.endswith("Xhunter2xyz [redacted: value of password]")  # a short one: words only


def test_a_quoted_literal_assigned_to_a_secret_name_is_masked_whatever_its_length():
    redactor = Redactor.for_task({}, environ={})
    source = ('passwd = "ab"\nconfig = {"api_key": "xyz", "user": "ann"}\n'
              'os.environ["OPENAI_API_KEY"] = "k-1"\nif password == "letmein": pass\nkey = lambda r: r\n')
    assert redactor.redact(source) == (
        'passwd = "[redacted: value of passwd]"\nconfig = {"api_key": "[redacted: value of api_key]", "user": "ann"}\n'
        'os.environ["OPENAI_API_KEY"] = "[redacted: value of OPENAI_API_KEY]"\n'
        'if password == "[redacted: value of password]": pass\nkey = lambda r: r\n')
    assert redactor.withheld == 4


def test_allowed_names_extra_patterns_and_switching_off():
    ns = {"secret_santa": "by-length-1", "api_key": "sk-SECRET-456"}
    redactor = Redactor.for_task(ns, environ={}, patterns=[r"EMP-\d{6}"], allow=["secret_santa"])
    assert redactor.redact("by-length-1 sk-SECRET-456 EMP-123456") == (
        "by-length-1 [redacted: value of api_key] [redacted: matched a codeact redact pattern]")
    off = Redactor.for_task(ns, environ={}, enabled=False)
    assert off.redact(f"sk-SECRET-456 {OPENAI}") == f"sk-SECRET-456 {OPENAI}"


def test_images_and_base64_become_a_line_of_type_and_size():
    png = "iVBORw0KGgo" + "A1b2C3d4" * 2000
    image = {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}}
    assert output_text(image) == "[image/png image, 11.7 KB, shown to the user: <Figure>]"
    printed = {"output_type": "stream", "name": "stdout",
               "text": f"uri: data:image/jpeg;base64,{png}\nraw: {png}\n"}
    observation = format_observation([printed], "ok", limit=4000)
    assert png[:40] not in observation
    assert observation == ("Observation:\nuri: [data URI, image/jpeg, 11.7 KB]\n"
                           "raw: [base64 data, 11.7 KB]")


@pytest.fixture
def forget_redact_config(ip):
    """%config stays in the shell's config, and a later %reload_ext would apply it again."""
    yield
    for name in ("redact", "redact_patterns", "redact_allow"):
        ip.config.CodeActMagics.pop(name, None)


def _first_message(ip, server):
    result = ip.run_cell(f"%codeact --base-url {server.base_url} --model m go")
    assert result.error_in_exec is None
    return server.requests[-1]["messages"][1]["content"]


def test_the_magics_settings_add_patterns_allow_names_and_switch_redaction_off(ip, forget_redact_config):
    import codeact_jupyter
    from chat_server import ChatServer

    ip.run_cell('api_key = "sk-SECRET-456"\nsecret_santa = "by-length-1"\nemployee = "EMP-123456"')
    with ChatServer(["ok"] * 3) as server:
        first = _first_message(ip, server)
        assert "sk-SECRET-456" not in first and "by-length-1" not in first and "EMP-123456" in first
        assert codeact_jupyter.last_run().redacted_counts() == {"value of api_key": 1, "value of secret_santa": 1}
        ip.run_cell('%config CodeActMagics.redact_allow = ["secret_santa"]\n'
                    '%config CodeActMagics.redact_patterns = [r"EMP-\\d+"]')
        first = _first_message(ip, server)
        assert "sk-SECRET-456" not in first and "by-length-1" in first and "EMP-123456" not in first
        assert "[redacted: matched a codeact redact pattern]" in first
        ip.run_cell("%config CodeActMagics.redact = False")
        first = _first_message(ip, server)
        assert "sk-SECRET-456" in first and "EMP-123456" in first
        assert codeact_jupyter.last_run().redacted_counts() == {}


def test_a_bad_pattern_is_named_and_nothing_is_sent(ip, capsys, forget_redact_config):
    from chat_server import ChatServer

    import codeact_jupyter

    ip.run_cell('%config CodeActMagics.redact_patterns = ["key=(unclosed"]')
    with ChatServer(["ok"]) as server:
        result = ip.run_cell(f"%codeact --base-url {server.base_url} --model m go with {OPENAI}")
    assert result.error_in_exec is None
    shown = capsys.readouterr().out
    assert "'key=(unclosed' is not a valid regular expression" in shown
    assert server.requests == []
    # Nothing could be masked, so the task is neither shown nor kept.
    assert OPENAI not in shown and OPENAI not in codeact_jupyter.last_run().task


def test_a_steps_outputs_are_kept_redacted_and_images_untouched():
    redactor = Redactor.for_task({"api_key": "sk-SECRET-456"}, environ={})
    png = "iVBORw0KGgo" + "A1b2C3d4" * 200
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": f"key sk-SECRET-456 and {OPENAI}\n"},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad sk-SECRET-456",
         "traceback": ["ValueError: bad sk-SECRET-456"]},
        {"output_type": "display_data", "metadata": {"image/png": {"width": 4}},
         "data": {"image/png": png, "text/html": ["<b>sk-SECRET-456</b>"], "text/plain": "sk-SECRET-456"}},
    ]
    kept = redactor.redact_outputs(outputs)
    assert "sk-SECRET-456" not in repr(kept) and OPENAI not in repr(kept)
    assert kept[0]["text"] == "key [redacted: value of api_key] and [redacted: OpenAI key]\n"
    assert kept[1]["traceback"] == ["ValueError: bad [redacted: value of api_key]"]
    assert kept[2]["data"]["image/png"] == png and kept[2]["metadata"] == {"image/png": {"width": 4}}
    assert kept[2]["data"]["text/html"] == ["<b>[redacted: value of api_key]</b>"]
    assert "sk-SECRET-456" in outputs[0]["text"]  # the user's own outputs are not changed
    # What views keep is not what the model was sent: the count says what the model missed.
    assert redactor.withheld == 0 and redactor.new_notice() is None


def test_the_newest_outputs_of_a_long_session_are_scanned():
    out = {count: f"result {count}" for count in range(1, 400)}
    out[350] = {"password": "late-pass-350"}
    out[2] = {"token": "early-token-2"}
    redactor = Redactor.for_task({"Out": out}, environ={})
    assert redactor.redact("late-pass-350 early-token-2") == (
        "[redacted: value of Out[350]['password']] [redacted: value of Out[2]['token']]")


def test_braces_in_config_patterns_are_written_doubled(ip, forget_redact_config):
    """%config expands {expr} in its line, as every IPython magic without no_var_expand does:
    r"ACME-\\d{6}" arrives as r"ACME-\\d6". Doubled braces arrive as written (README)."""
    ip.run_cell('%config CodeActMagics.redact_patterns = [r"ACME-\\d{{6}}", r"x{{2,3}}"]')
    magics = ip.magics_manager.registry["CodeActMagics"]
    assert magics.redact_patterns == [r"ACME-\d{6}", "x{2,3}"]
    redactor = Redactor.for_task({}, environ={}, patterns=magics.redact_patterns)
    assert redactor.redact("id ACME-123456") == "id [redacted: matched a codeact redact pattern]"


def test_a_rich_output_too_long_to_redact_in_time_is_left_out_of_what_is_kept():
    from codeact_jupyter.context.redaction import RICH_LIMIT

    redactor = Redactor.for_task({"api_key": "sk-SECRET-456"}, environ={})
    big = "<table>" + "<tr><td>sk-SECRET-456</td></tr>" * (RICH_LIMIT // 30) + "</table>"
    outputs = [{"output_type": "display_data", "metadata": {},
                "data": {"text/html": big, "text/plain": "<IPython.core.display.HTML object>"}},
               {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<b>sk-SECRET-456</b>"}}]
    kept = redactor.redact_outputs(outputs)
    assert kept[0]["data"] == {"text/plain": "<IPython.core.display.HTML object>"}
    assert kept[0]["metadata"] == {"codeact": {"left_out": ["text/html"]}}
    assert kept[1]["data"]["text/html"] == "<b>[redacted: value of api_key]</b>"
    assert outputs[0]["data"]["text/html"] is big  # the user's own output is not changed
