"""A local stand-in for Stripe's API, speaking its wire format, so tests run the real
stripe-python SDK (its form encoding, errors, retries and idempotency keys).

A real HTTP server on 127.0.0.1: form-encoded requests with bracketed nested keys,
JSON objects with an `object` field, errors as `{"error": {"type", "code", "message",
"param"}}`. It knows the endpoints billing uses: customers, subscriptions, prices,
billing meters and meter events, including the 400 for an identifier it already has
and for a timestamp outside the 35-day window. `fail_next(n)` answers the next n
requests with 500 (an outage); POSTs that succeeded are replayed for a repeated
`Idempotency-Key`, as Stripe does; `lose_next_answers(n)` carries out the next n
requests and drops the connection before answering.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

WINDOW_SECONDS = 35 * 86400
FUTURE_SECONDS = 300


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """`items[0][price]=x&payload[value]=3` → {"items": [{"price": "x"}], "payload": {"value": "3"}}."""
    root: dict = {}
    for name, value in pairs:
        parts = re.findall(r"[^\[\]]+", name)
        node = root
        for part, following in zip(parts, parts[1:]):
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None, param: str | None = None):
        self.status, self.body = status, {"error": {"type": type_, "message": message, "code": code, "param": param}}


class FakeStripe:
    def __init__(self) -> None:
        self.customers: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.meters: dict[str, dict] = {}
        self.events: dict[str, dict] = {}  # meter events by identifier
        self.event_posts: Counter = Counter()  # meter event POSTs per identifier, answered or not
        self.requests: list[tuple[str, str]] = []
        self.api_key = "sk_test_" + secrets.token_hex(12)
        self._failures = 0
        self._lost_answers = 0
        self._idempotent: dict[str, tuple[int, dict]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control ----------------------------------------------------------

    def fail_next(self, count: int) -> None:
        """The next `count` requests are answered 500, as during an outage."""
        with self._lock:
            self._failures = count

    def recover(self) -> None:
        self.fail_next(0)

    def lose_next_answers(self, count: int) -> None:
        """The next `count` requests are carried out, but the connection drops before the answer."""
        with self._lock:
            self._lost_answers = count

    def _answer_lost(self) -> bool:
        with self._lock:
            if self._lost_answers:
                self._lost_answers -= 1
                return True
            return False

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlparse(self.path)
                params = _nest(parse_qsl(raw if method == "POST" else url.query, keep_blank_values=True))
                status, body = fake.handle(method, url.path, params, self.headers)
                if fake._answer_lost():
                    self.close_connection = True
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(8))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the API ------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, dict]:
        with self._lock:
            self.requests.append((method, path))
            if path == "/v1/billing/meter_events" and method == "POST":
                self.event_posts[params.get("identifier", "")] += 1
            if self._failures:
                self._failures -= 1
                return 500, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
            if headers.get("Authorization") != f"Bearer {self.api_key}":
                return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}}
            key = headers.get("Idempotency-Key") if method == "POST" else None
            if key and key in self._idempotent:
                return self._idempotent[key]
            try:
                answer = 200, self._route(method, path, params)
            except StripeError as exc:
                answer = exc.status, exc.body
            if key:
                self._idempotent[key] = answer
            return answer

    def _route(self, method: str, path: str, params: dict) -> dict:
        routes = {
            ("POST", "/v1/customers"): self._create_customer,
            ("POST", "/v1/prices"): self._create_price,
            ("POST", "/v1/subscriptions"): self._create_subscription,
            ("POST", "/v1/billing/meters"): self._create_meter,
            ("GET", "/v1/billing/meters"): self._list_meters,
            ("POST", "/v1/billing/meter_events"): self._create_meter_event,
        }
        if (method, path) in routes:
            return routes[(method, path)](params)
        match = re.fullmatch(r"/v1/customers/(cus_\w+)", path)
        if method == "GET" and match:
            if match[1] not in self.customers:
                raise StripeError(404, "invalid_request_error", f"No such customer: '{match[1]}'",
                                  "resource_missing", "id")
            return self.customers[match[1]]
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _require(params: dict, *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.",
                                  "parameter_missing", name)

    def _create_customer(self, params: dict) -> dict:
        customer = {"id": "cus_" + secrets.token_hex(7), "object": "customer", "created": int(time.time()),
                    "name": params.get("name"), "email": params.get("email"),
                    "metadata": params.get("metadata", {}), "livemode": False}
        self.customers[customer["id"]] = customer
        return customer

    def _create_meter(self, params: dict) -> dict:
        self._require(params, "display_name", "event_name", "default_aggregation")
        if any(m["event_name"] == params["event_name"] and m["status"] == "active" for m in self.meters.values()):
            raise StripeError(400, "invalid_request_error",
                              f"An active meter with event_name '{params['event_name']}' already exists.",
                              "resource_already_exists", "event_name")
        meter = {"id": "mtr_" + secrets.token_hex(8), "object": "billing.meter", "created": int(time.time()),
                 "display_name": params["display_name"], "event_name": params["event_name"],
                 "default_aggregation": params["default_aggregation"],
                 "customer_mapping": params.get("customer_mapping", {"type": "by_id",
                                                                     "event_payload_key": "stripe_customer_id"}),
                 "value_settings": params.get("value_settings", {"event_payload_key": "value"}),
                 "status": "active", "livemode": False}
        self.meters[meter["id"]] = meter
        return meter

    def _list_meters(self, params: dict) -> dict:
        return {"object": "list", "url": "/v1/billing/meters", "has_more": False, "data": list(self.meters.values())}

    def _create_price(self, params: dict) -> dict:
        self._require(params, "currency")
        recurring = params.get("recurring") or None
        if recurring and recurring.get("usage_type") == "metered" and recurring.get("meter") not in self.meters:
            raise StripeError(400, "invalid_request_error", "A metered price needs an existing meter.",
                              "resource_missing", "recurring[meter]")
        price = {"id": "price_" + secrets.token_hex(8), "object": "price", "created": int(time.time()),
                 "currency": params["currency"], "unit_amount": int(params.get("unit_amount", 0)),
                 "recurring": recurring, "type": "recurring" if recurring else "one_time",
                 "product": "prod_" + secrets.token_hex(6), "active": True, "livemode": False}
        self.prices[price["id"]] = price
        return price

    def _create_subscription(self, params: dict) -> dict:
        self._require(params, "customer")
        if params["customer"] not in self.customers:
            raise StripeError(400, "invalid_request_error", f"No such customer: '{params['customer']}'",
                              "resource_missing", "customer")
        items = []
        for i, item in enumerate(params.get("items", [])):
            if item.get("price") not in self.prices:
                raise StripeError(400, "invalid_request_error", f"No such price: '{item.get('price')}'",
                                  "resource_missing", f"items[{i}][price]")
            items.append({"id": "si_" + secrets.token_hex(7), "object": "subscription_item",
                          "price": self.prices[item["price"]]})
        subscription = {"id": "sub_" + secrets.token_hex(8), "object": "subscription", "created": int(time.time()),
                        "customer": params["customer"], "status": "active",
                        "collection_method": params.get("collection_method", "charge_automatically"),
                        "items": {"object": "list", "data": items, "has_more": False,
                                  "url": "/v1/subscription_items"},
                        "metadata": params.get("metadata", {}), "livemode": False}
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def _create_meter_event(self, params: dict) -> dict:
        self._require(params, "event_name", "payload")
        payload = params["payload"]
        if not any(m["event_name"] == params["event_name"] for m in self.meters.values()):
            raise StripeError(400, "invalid_request_error",
                              f"No active meter was found for event_name '{params['event_name']}'.",
                              "resource_missing", "event_name")
        if not payload.get("stripe_customer_id"):
            raise StripeError(400, "invalid_request_error", "payload[stripe_customer_id] is required.",
                              "parameter_missing", "payload[stripe_customer_id]")
        if not str(payload.get("value", "")).isdigit():
            raise StripeError(400, "invalid_request_error", "payload[value] must be a whole number.",
                              "parameter_invalid_integer", "payload[value]")
        now = int(time.time())
        timestamp = int(params.get("timestamp") or now)
        if timestamp < now - WINDOW_SECONDS or timestamp > now + FUTURE_SECONDS:
            raise StripeError(400, "invalid_request_error",
                              "Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
                              "parameter_invalid_integer", "timestamp")
        identifier = params.get("identifier") or "evt_" + secrets.token_hex(12)
        if identifier in self.events:
            raise StripeError(400, "invalid_request_error",
                              f"An event with identifier '{identifier}' already exists.",
                              "resource_already_exists", "identifier")
        event = {"object": "billing.meter_event", "created": now, "event_name": params["event_name"],
                 "identifier": identifier, "payload": payload, "timestamp": timestamp, "livemode": False}
        self.events[identifier] = event
        return event

    def usage_of(self, customer_id: str, event_name: str) -> int:
        return sum(int(e["payload"]["value"]) for e in self.events.values()
                   if e["event_name"] == event_name and e["payload"]["stripe_customer_id"] == customer_id)
