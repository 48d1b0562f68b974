"""Recall on the shapes secrets take: a table of files, headers, URLs and keys (fake, in the
real formats), each masked in what a test chat server receives when a step prints them,
in ``last_run()``, in the run's trace and in a saved replay; and the secrets only the kernel
knows (a DataFrame column at any row, a value cut in half by a long output's cut, a
private cell's values in ``globals()``, a follow-up's news)."""
import json

import pandas as pd
import pytest

from chat_server import ChatServer
from codeact_jupyter.context.frame_secrets import mask_table_column
from codeact_jupyter.context.redaction import Redactor
from codeact_jupyter.trace.build import run_trace

PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
# (shape, text as a file or a printout holds it, the secret in it)
RECALL = [
    (".env NAME=value", "DB_HOST=db.internal\nDB_PASSWORD=Pg-pass-7731\n", "Pg-pass-7731"),
    (".env export NAME=value", "export STRIPE_SECRET_KEY=sk_live_51HqLyjWDarjtT1zdp7dcXa9\n",
     "sk_live_51HqLyjWDarjtT1zdp7dcXa9"),
    (".env double-quoted", 'AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8nv3LkW"\n',
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8nv3LkW"),
    (".env single-quoted", "MAILGUN_API_KEY='key-3ax6xnjp29jd6fds4gc373sgvjxteol0'\n",
     "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"),
    (".env lowercase word value", "ADMIN_PASSWORD=correcthorse\n", "correcthorse"),
    ("JSON config", '{"db": {"host": "db", "password": "js0n-Pass!42"}, "api_key": "k3y-J50N-998877"}',
     "js0n-Pass!42"),
    ("JSON config, second field", '{"db": {"host": "db", "password": "js0n-Pass!42"}, "api_key": "k3y-J50N-998877"}',
     "k3y-J50N-998877"),
    ("YAML password", "database:\n  user: etl\n  password: yaml-Pa55word\n", "yaml-Pa55word"),
    ("YAML client_secret", "oauth:\n  client_id: 1234-abcd.apps\n  client_secret: 8Q~vYaMlcl1ent-s3cret\n",
     "8Q~vYaMlcl1ent-s3cret"),
    ("YAML quoted token", 'slack:\n  bot_token: "xoxb-2048-4096-a1B2c3D4e5F6g7H8"\n', "xoxb-2048-4096-a1B2c3D4e5F6g7H8"),
    ("AWS credentials ini", "[default]\naws_access_key_id = AKIAZ7QX3MPLE4R2T5LQ\n"
     "aws_secret_access_key = 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\n", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbXk3mPq7TzW"),
    ("AWS access key id by format", "[default]\naws_access_key_id = AKIAZ7QX3MPLE4R2T5LQ\n", "AKIAZ7QX3MPLE4R2T5LQ"),
    ("INI password", "[smtp]\nhost = mail.local\npassword = iniPass-2024\n", "iniPass-2024"),
    ("TOML string", '[database]\nurl = "db.local"\npassword = "t0ml-Secret-55"\n', "t0ml-Secret-55"),
    ("connection string URL", "engine = create_engine('postgresql://etl:c0nn-Pass-91@db.internal:5432/wh')",
     "c0nn-Pass-91"),
    ("ODBC connection string", "Server=tcp:acme.database.windows.net;Database=d;User ID=u;Password=Odbc-Pw-7781;"
     "Encrypt=yes", "Odbc-Pw-7781"),
    ("Azure storage connection string", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Eby8vdM02xNOcqFl"
     "qUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
     "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"),
    ("Authorization: Bearer", 'curl -H "Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" https://api.acme.io',
     "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"),
    ("Authorization: Basic", "GET / HTTP/1.1\nAuthorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l\n",
     "YWxhZGRpbjpvcGVuc2VzYW1l"),
    ("URL api_key", "https://api.acme.io/v1/data?api_key=q9W8e7R6t5Y4u3I2&format=json", "q9W8e7R6t5Y4u3I2"),
    ("URL access_token", "GET https://graph.acme.io/me?fields=id&access_token=EAACEdEose0cBA1b2c3d4E",
     "EAACEdEose0cBA1b2c3d4E"),
    ("URL token", "https://hooks.acme.io/run?token=Zt5Kq8Wm2Rx7Lp4N", "Zt5Kq8Wm2Rx7Lp4N"),
    ("URL sig (Azure SAS)", "https://acme.blob.core.windows.net/c/f.csv?sv=2021-06-08&sr=b&sig=Abc%2BdEf3GhI5jKl%3D",
     "Abc%2BdEf3GhI5jKl%3D"),
    ("Stripe sk_live_", "stripe.api_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("Stripe rk_live_", "restricted: rk_live_51Hq9ZtLyjWDarjtT1zdp7dcQ", "rk_live_51Hq9ZtLyjWDarjtT1zdp7dcQ"),
    ("GCP service-account JSON", json.dumps({
        "type": "service_account", "project_id": "acme", "private_key_id": "3f1e2d",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n",
        "client_email": "bot@acme.iam.gserviceaccount.com"}), PEM_BODY),
    ("Slack token", "SLACK=xoxp-1234567890-0987654321-AbCdEfGhIjKl", "xoxp-1234567890-0987654321-AbCdEfGhIjKl"),
    ("Slack webhook", "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
     "B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("GitHub token", "git clone https://ghp_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2@github.com/acme/x",
     "ghp_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2"),
    ("Hugging Face token", "login(token)  # hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
    ("JWT", "session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("PEM private key", f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----", PEM_BODY),
    ("OpenAI key", "OPENAI_API_KEY=sk-proj-Zq3Xv9LmN2bT7yR4kW8pA1sD6fG0hJ5c", "sk-proj-Zq3Xv9LmN2bT7yR4kW8pA1sD6fG0hJ5c"),
    ("Mailchimp key", "mc = MailChimp('0123456789abcdef0123456789abcdef-us14')", "0123456789abcdef0123456789abcdef-us14"),
    ("Square token", "SQUARE = sq0atp-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op", "sq0atp-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op"),
    ("Telegram bot token", "bot = Bot('1234567890:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0')",
     "1234567890:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"),
    ("SendGrid key", "key: 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",
     "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
]


@pytest.mark.parametrize("shape, text, secret", RECALL, ids=[row[0] for row in RECALL])
def test_each_shape_a_secret_takes_is_masked(shape, text, secret):
    redactor = Redactor.for_task({}, environ={})
    masked = redactor.redact(text)
    assert secret not in masked and "[redacted:" in masked
    assert secret[:12] not in masked  # no telling part of it either


def test_no_secret_of_the_table_reaches_the_server_the_record_the_trace_or_a_replay(ip, tmp_path, forget_cells):
    paths = []
    for number, (_, text, _) in enumerate(RECALL):
        paths.append(tmp_path / f"file{number}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    ip.magics_manager.registry["CodeActMagics"].observation_limit = 100_000
    ip.user_ns["accounts"] = pd.DataFrame({"user": [f"user-{i}" for i in range(300)],
                                           "token": [f"tok-{i:03d}-Zx9Qw8" for i in range(300)]})
    step = (f"for path in {[str(p) for p in paths]!r}:\n    print(open(path).read())\n"
            "print(accounts.iloc[[0, 150, 297, 298, 299]].to_string())")
    with ChatServer([f"Let me read them.\n<execute>\n{step}\n</execute>", "Read."]) as server:
        assert ip.run_cell(f"%codeact --base-url {server.base_url} --model m read the configs").error_in_exec is None
    import codeact_jupyter

    run = codeact_jupyter.last_run()
    replay = run.save_replay(tmp_path / "replay.json").read_text(encoding="utf-8")
    kept = {"sent": json.dumps(server.requests), "last_run": json.dumps([run.messages, run.task, run.answer] + [
        [s.code, s.observation, s.outputs] for s in run.steps]), "trace": json.dumps(run_trace(run)), "replay": replay}
    assert len(server.requests) == 2 and "db.internal" in kept["sent"] and "user-298" in kept["sent"]
    rows = [("DataFrame column token", "", f"tok-{i:03d}-Zx9Qw8") for i in (0, 150, 297, 298, 299)]
    for shape, _, secret in RECALL + rows:
        for where, text in kept.items():
            assert secret not in text, f"{shape}: {where}"
    assert run.steps[0].code == step  # the model's code is kept as it wrote it


def test_a_credential_column_is_masked_at_every_row():
    tokens = [f"user-{i}" for i in range(300)]
    frame = pd.DataFrame({"user": tokens, "token": [f"tok-{i:03d}-Zx9Qw8" for i in range(300)]})
    redactor = Redactor.for_task({"df": frame}, environ={})
    shown = redactor.redact(frame.to_string())
    for row in (0, 150, 297, 298, 299):
        assert f"tok-{row:03d}-Zx9Qw8" not in shown
    assert "user-299" in shown  # the other columns stay


def test_a_column_too_long_to_read_in_time_is_masked_whole_and_said():
    frame = pd.DataFrame({"user": ["ann", "bob", "cy"], "token": ["tk-Aa1-0001x", "tk-Bb2-0002y", "tk-Cc3-0003z"]})
    redactor = Redactor.for_task({"df": frame}, environ={}, frame_seconds=-1)  # no time at all
    shown = redactor.redact(frame.to_string())
    assert "tk-" not in shown and "ann" in shown and "bob" in shown
    assert redactor.new_notice() == ("Too long to check for secrets in time, so masked whole in the tables "
                                     "the model is sent: df['token'].")
    prose = "the token is here\nand this line stays as it is, whatever its length"
    assert mask_table_column(prose, "token", "X") == prose


def test_a_secret_cut_in_half_by_a_long_outputs_cut_leaves_no_part(ip, forget_cells):
    ip.run_cell('service_token = "svc-Tok-8842-xyzAbCdEfGhIjKlMnOpQrStUvWx"')  # 40 characters
    magics = ip.magics_manager.registry["CodeActMagics"]
    magics.observation_limit = 1000
    secret = ip.user_ns["service_token"]
    # The cut keeps the first 500 characters: the secret starts 15 before it.
    step = 'print("x" * 485 + service_token + "y" * 2000)'
    with ChatServer([f"<execute>\n{step}\n</execute>", "Done."]) as server:
        assert ip.run_cell(f"%codeact --base-url {server.base_url} --model m print it").error_in_exec is None
    import codeact_jupyter

    observation = server.requests[1]["messages"][-1]["content"]
    kept = json.dumps(codeact_jupyter.last_run().steps[0].outputs)  # a head and a tail of the stream
    assert "characters cut" in observation and "characters of output cut" in kept
    for start in range(0, len(secret) - 8):
        assert secret[start:start + 8] not in observation and secret[start:start + 8] not in kept


def test_a_secret_at_the_streams_own_cut_leaves_no_part_in_what_is_kept(ip, forget_cells):
    ip.run_cell('service_token = "svc-Tok-8842-xyzAbCdEfGhIjKlMnOpQrStUvWx"')
    ip.magics_manager.registry["CodeActMagics"].observation_limit = 1000
    secret = ip.user_ns["service_token"]
    step = 'print("x" * 985 + service_token + "y" * 5000)'  # the kept head ends 15 characters in
    with ChatServer([f"<execute>\n{step}\n</execute>", "Done."]) as server:
        assert ip.run_cell(f"%codeact --base-url {server.base_url} --model m print it").error_in_exec is None
    import codeact_jupyter

    kept = json.dumps(codeact_jupyter.last_run().steps[0].outputs) + json.dumps(server.requests)
    for start in range(0, len(secret) - 8):
        assert secret[start:start + 8] not in kept


def test_a_private_cells_values_are_masked_in_what_a_step_prints(ip, forget_cells):
    ip.run_cell("# codeact: private\nclinic_code = 'CLN-4471-PRIV'\npatient_name = 'Ada Q. Lovelace'",
                store_history=True)
    step = "print({k: v for k, v in globals().items() if isinstance(v, str) and not k.startswith('_')})"
    with ChatServer([f"<execute>\n{step}\n</execute>", "Done."]) as server:
        assert ip.run_cell(f"%codeact --base-url {server.base_url} --model m what is defined").error_in_exec is None
    sent = json.dumps(server.requests)
    assert "CLN-4471-PRIV" not in sent and "Ada Q. Lovelace" not in sent
    assert "[redacted: a private cell's value]" in sent


def test_what_a_follow_up_says_is_masked(ip, forget_cells):
    with ChatServer(["First.", "Second."]) as server:
        assert ip.run_cell(f"%codeact --base-url {server.base_url} --model m one").error_in_exec is None
        ip.run_cell('print("DB_PASSWORD=Pg-pass-7731")\nstripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"',
                    store_history=True)
        assert ip.run_cell(f"%codeact -c --base-url {server.base_url} --model m two").error_in_exec is None
    follow_up = server.requests[1]["messages"][-1]["content"]
    assert "stripe = " in follow_up  # the cell is news
    assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" not in follow_up and "Pg-pass-7731" not in follow_up
