"""A real SMTP server for Vigie's tests: Debian's aiosmtpd on loopback.

Each accepted message is written to --dir as NNNN.eml (the bytes
received) and NNNN.json (envelope, TLS, authenticated login), the .eml
renamed into place last. A file named "fail" in --dir holding a number
makes the next that many messages fail with 451 (a transient error).
--cert/--key offer STARTTLS and require it; --user/--password require
authentication (only over TLS). Prints "ready" once it listens.
"""
import argparse
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--user")
ap.add_argument("--password")
args = ap.parse_args()


class Handler:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        fail = os.path.join(args.dir, "fail")
        if os.path.exists(fail):
            with open(fail) as f:
                left = int(f.read().strip() or 0)
            if left > 0:
                with open(fail, "w") as f:
                    f.write(str(left - 1))
                return "451 4.3.0 Try again later"
        Handler.count += 1
        base = os.path.join(args.dir, "%04d" % Handler.count)
        auth = getattr(session, "auth_data", None)
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None, "login": login}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user
          and auth_data.password.decode() == args.password)
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


kw = {}
if args.cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    kw.update(tls_context=ctx, require_starttls=True)
if args.user:
    kw.update(authenticator=authenticator, auth_require_tls=True, auth_required=True)
controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **kw)
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
controller.stop()
