"""A fake of Twilio's REST API for `ivr twilio ...`, behind the twilio library's own REST client.

The twilio library's REST client takes an HTTP client; this one answers like Twilio's API and
records every request, the way twilio-python's own tests do. It behaves like Twilio where our
commands could be fooled:
- the PhoneNumber filter matches *partially*: any number that contains the text given;
- lists come in pages; the next one is fetched through `next_page_uri`, its query in the URI;
- `EndTime<` is read as a date (Twilio documents these filters as YYYY-MM-DD): every call that
  ended on or before that day, the loosest reading, so a purge must check each call's end itself;
- a `<Dial>` leg is a call of its own, with `parent_call_sid`, listed by `ParentCallSid`;
- deleted records are still listed (Twilio: for up to 14 days); deleting one again answers 404,
  and so does anything the fake does not know;
- `throttle=n` answers every n-th request 429 (error 20429); a call marked `finalised: False`
  answers DELETE with error 20009, one marked `broken` with HTTP 500.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response

SID = "AC" + "a" * 32
BASE = f"/2010-04-01/Accounts/{SID}"
LINE = "+17205550123"
NUMBER_SID = "PN" + "b" * 32


def error(status: int, code: int, message: str) -> Response:
    return Response(
        status, json.dumps({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})
    )


class FakeTwilio(HttpClient):
    """The number's settings, other numbers of the account, and a call log (dicts: sid, to, from,
    end (a datetime, None while in progress), parent, recorded, transcribed, finalised, broken)."""

    def __init__(
        self,
        settings: dict | None = None,
        calls: list[dict] | None = None,
        *,
        status: int = 200,
        numbers: tuple[str, ...] = (),
        page_size: int = 50,
        throttle: int = 0,
    ):
        super().__init__(logger=logging.getLogger("fake-twilio"), is_async=False)
        self.settings = {
            "voice_url": "https://old.example.com/voice",
            "voice_method": "GET",
            "voice_caller_id_lookup": True,
            **(settings or {}),
        }
        self.numbers = [LINE, *numbers]
        self.calls = calls or []
        self.status, self.page_size, self.throttle = status, page_size, throttle
        self.deleted: set[str] = set()
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.auth: set[str] = set()  # the usernames the client authenticated with (account SID or API key)

    # --- HTTP ---------------------------------------------------------------------------------
    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):  # noqa: ANN001, ANN201
        parts = urlsplit(uri)
        query = {**dict(parse_qsl(parts.query)), **{k: str(v) for k, v in (params or {}).items()}}
        path = parts.path.removeprefix(BASE)
        self.requests.append((method, path, query, dict(data or {})))
        if auth:
            self.auth.add(auth[0])
        if self.status != 200:
            return error(self.status, 20003, "Authenticate")
        if self.throttle and len(self.requests) % self.throttle == 0:
            return error(429, 20429, "Too Many Requests")
        if method == "GET":
            return self.read(path, query)
        if method == "POST" and path == f"/IncomingPhoneNumbers/{NUMBER_SID}.json":
            self.settings.update({_snake(k): _value(v) for k, v in (data or {}).items()})
            return Response(200, json.dumps(self.number(LINE)))
        if method == "DELETE":
            return self.delete(path)
        return error(404, 20404, "The requested resource was not found")

    def read(self, path: str, query: dict) -> Response:
        if path == "/IncomingPhoneNumbers.json":
            wanted = query.get("PhoneNumber", "")
            return self.page(path, query, "incoming_phone_numbers", [self.number(n) for n in self.numbers if wanted in n])
        if path == "/Calls.json":
            return self.page(path, query, "calls", [self.call(c) for c in self.calls if _matches(c, query)])
        if path == "/Recordings.json":
            found = [{"sid": rec, "call_sid": c["sid"]} for c in self.calls if c["sid"] == query.get("CallSid") for rec in _recordings(c)]
            return self.page(path, query, "recordings", found)
        for call in self.calls:
            for rec in _recordings(call):
                if path == f"/Recordings/{rec}/Transcriptions.json":
                    if rec in self.deleted:
                        break
                    found = [{"sid": "TR" + rec[2:], "recording_sid": rec}] if call.get("transcribed") else []
                    return self.page(path, query, "transcriptions", found)
        return error(404, 20404, "The requested resource was not found")

    def delete(self, path: str) -> Response:
        sid = path.rsplit("/", 1)[-1].removesuffix(".json")
        known = {c["sid"]: c for c in self.calls}
        known.update({rec: {} for c in self.calls for rec in _recordings(c)})
        known.update({"TR" + rec[2:]: {} for c in self.calls if c.get("transcribed") for rec in _recordings(c)})
        if sid not in known or sid in self.deleted:
            return error(404, 20404, f"The requested resource {BASE}{path} was not found")
        if known[sid].get("finalised") is False:
            return error(409, 20009, "Cannot delete this resource before it is complete")
        if known[sid].get("broken"):
            return error(500, 20500, "Internal Server Error")
        self.deleted.add(sid)
        return Response(204, "")

    def page(self, path: str, query: dict, key: str, records: list[dict]) -> Response:
        """One page of a list, with Twilio's paging fields."""
        size = min(int(query.get("PageSize", 50)), self.page_size)
        number = int(query.get("Page", 0))
        filters = {k: v for k, v in query.items() if k not in ("PageSize", "Page", "PageToken")}
        more = len(records) > (number + 1) * size
        following = f"{BASE}{path}?{urlencode({**filters, 'PageSize': size, 'Page': number + 1, 'PageToken': f'PA{number + 1}'})}"
        return Response(
            200,
            json.dumps(
                {
                    key: records[number * size : (number + 1) * size],
                    "page": number,
                    "page_size": size,
                    "uri": f"{BASE}{path}?{urlencode(query)}",
                    "next_page_uri": following if more else None,
                }
            ),
        )

    # --- records ------------------------------------------------------------------------------
    def number(self, phone_number: str) -> dict:
        if phone_number == LINE:
            return {"sid": NUMBER_SID, "account_sid": SID, "phone_number": LINE, "friendly_name": "Denver line", **self.settings}
        return {"sid": "PN" + phone_number[-10:].rjust(32, "0"), "account_sid": SID, "phone_number": phone_number, "voice_url": ""}

    @staticmethod
    def call(c: dict) -> dict:
        end: datetime | None = c.get("end")
        return {
            "sid": c["sid"],
            "to": c["to"],
            "from": c["from"],
            "parent_call_sid": c.get("parent"),
            "status": "completed" if end else "in-progress",
            "end_time": format_datetime(end) if end else None,
        }

    def made(self, method: str) -> list[tuple[str, dict, dict]]:
        return [(path, params, data) for m, path, params, data in self.requests if m == method]


def _matches(call: dict, query: dict) -> bool:
    if "To" in query and call["to"] != query["To"]:
        return False
    if "From" in query and call["from"] != query["From"]:
        return False
    if "ParentCallSid" in query and call.get("parent") != query["ParentCallSid"]:
        return False
    if "EndTime<" in query:
        return call.get("end") is not None and call["end"].date().isoformat() <= query["EndTime<"][:10]
    return True


def _recordings(call: dict) -> list[str]:
    return ["RE" + call["sid"][2:]] if call.get("recorded") else []


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def _value(text: str) -> object:
    return {"true": True, "false": False}.get(str(text).lower(), text)
