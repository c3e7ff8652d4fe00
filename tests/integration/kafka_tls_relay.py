#!/usr/bin/env python3
"""TLS in front of librdkafka's mock cluster (which speaks only plaintext), for t_export_kafka_tls.

A Kafka client reconnects to the address the broker advertises (127.0.0.1:PORT), so the traced
program runs in its own network namespace, where `tls` listens on that same address, terminates
TLS and carries the bytes through a unix socket (a file: it crosses namespaces) to `bridge` in the
root namespace, which connects to the real broker.

  kafka_tls_relay.py bridge UNIX_PATH HOST:PORT
  kafka_tls_relay.py tls HOST:PORT CERT KEY UNIX_PATH EVENTS_FILE

Each writes "ready" on stdout once it listens. `tls` appends one line per handshake to EVENTS_FILE:
"handshake ok" or "handshake failed: <reason>".
"""
import asyncio
import ssl
import sys


async def pump(src, dst):
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            dst.close()
        except (OSError, RuntimeError):
            pass


async def splice(r1, w1, r2, w2):
    await asyncio.gather(pump(r1, w2), pump(r2, w1))


async def bridge(path, host, port):
    async def conn(r, w):
        try:
            br, bw = await asyncio.open_connection(host, port)
        except OSError:
            w.close()
            return
        await splice(r, w, br, bw)

    server = await asyncio.start_unix_server(conn, path)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


async def tls(host, port, cert, key, path, events):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    log = open(events, "a", buffering=1)

    async def conn(r, w):
        try:
            await w.start_tls(ctx)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            log.write(f"handshake failed: {e}\n")
            w.close()
            return
        log.write("handshake ok\n")
        try:
            ur, uw = await asyncio.open_unix_connection(path)
        except OSError:
            w.close()
            return
        await splice(r, w, ur, uw)

    server = await asyncio.start_server(conn, host, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "bridge":
        host, port = a[2].rsplit(":", 1)
        asyncio.run(bridge(a[1], host, int(port)))
    elif len(a) == 6 and a[0] == "tls":
        host, port = a[1].rsplit(":", 1)
        asyncio.run(tls(host, int(port), a[2], a[3], a[4], a[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
