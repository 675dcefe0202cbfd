"""A deterministic OpenAI-compatible upstream (``POST /v1/chat/completions``): the same messages
always get the same answer, so graphs and snippets are reproducible; ``stream: true`` answers
with SSE chunks ending in ``data: [DONE]``."""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from aiohttp import web

WORDS = ("circuits", "features", "tokens", "attention", "layers", "signals", "answers", "graphs", "weights",
         "contexts", "concepts", "patterns")


def answer_for(messages: list[Any]) -> str:
    prompt = " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
    h = hashlib.sha256(prompt.encode()).digest()
    words = [WORDS[b % len(WORDS)] for b in h[:9]]
    return (f"The {words[0]} shape the {words[1]} of this reply. Its {words[2]} follow the {words[3]} of the "
            f"prompt. Each of the {words[4]} adds {words[5]} to the {words[6]}.")


def make_app(latency_ms: float = 0.0) -> web.Application:
    app = web.Application()
    seen = {"requests": 0, "authorization_headers": 0}

    async def completions(request: web.Request) -> web.StreamResponse:
        seen["requests"] += 1
        if "Authorization" in request.headers:
            seen["authorization_headers"] += 1
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return web.json_response({"error": {"message": "model and messages are required",
                                                "type": "invalid_request_error"}}, status=400)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        text = answer_for(body["messages"])
        cid = "chatcmpl-" + hashlib.sha256((text + str(time.time_ns())).encode()).hexdigest()[:20]
        created = int(time.time())
        if body.get("stream") is True:
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for i, word in enumerate(text.split(" ")):
                chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": (" " if i else "") + word},
                                      "finish_reason": None}]}
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in body["messages"] if isinstance(m, dict))
        completion_tokens = len(text.split())
        return web.json_response({
            "id": cid, "object": "chat.completion", "created": created, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(seen)

    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/stats", stats)
    return app
