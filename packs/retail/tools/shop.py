"""The shop's business system: customers, orders and products in the pack's SQLite database.

Every write re-checks the shop's rules itself (order status, ownership, refund destinations,
same-product exchanges), so a flow mistake can never break them. A ``ToolFailure`` message is
shown to the customer as it is.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from procpilot.tools import ToolContext, ToolFailure, Toolset

toolset = Toolset("shop")

SCHEMA = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL,
    address TEXT NOT NULL, payment_methods TEXT NOT NULL
);
CREATE INDEX users_email ON users (email);
CREATE TABLE products (product_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE variants (
    item_id TEXT PRIMARY KEY, product_id TEXT NOT NULL REFERENCES products, options TEXT NOT NULL,
    available INTEGER NOT NULL, price REAL NOT NULL
);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users, status TEXT NOT NULL,
    address TEXT NOT NULL, items TEXT NOT NULL, fulfillments TEXT NOT NULL, payment_history TEXT NOT NULL,
    cancel_reason TEXT, return_items TEXT, return_payment_method_id TEXT,
    exchange_items TEXT, exchange_new_items TEXT, exchange_payment_method_id TEXT,
    exchange_price_difference REAL
);
CREATE INDEX orders_user ON orders (user_id);
"""


def seed(db: sqlite3.Connection, data_dir: Path) -> None:
    """Load data/db.json (the shop's real data set) into a fresh database."""
    data = json.loads((data_dir / "db.json").read_text(encoding="utf-8"))
    db.executescript(SCHEMA)
    for user in data["users"].values():
        db.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
            (
                user["user_id"],
                user["name"]["first_name"],
                user["name"]["last_name"],
                user["email"].lower(),
                json.dumps(user["address"]),
                json.dumps(user["payment_methods"]),
            ),
        )
    for product in data["products"].values():
        db.execute("INSERT INTO products VALUES (?, ?)", (product["product_id"], product["name"]))
        for variant in product["variants"].values():
            db.execute(
                "INSERT INTO variants VALUES (?, ?, ?, ?, ?)",
                (
                    variant["item_id"],
                    product["product_id"],
                    json.dumps(variant["options"]),
                    int(variant["available"]),
                    variant["price"],
                ),
            )
    for order in data["orders"].values():
        db.execute(
            "INSERT INTO orders (order_id, user_id, status, address, items, fulfillments, payment_history)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                order["order_id"],
                order["user_id"],
                order["status"],
                json.dumps(order["address"]),
                json.dumps(order["items"]),
                json.dumps(order["fulfillments"]),
                json.dumps(order["payment_history"]),
            ),
        )


# ---- helpers ------------------------------------------------------------------------------


def _db(ctx: ToolContext) -> sqlite3.Connection:
    if ctx.db is None:
        raise ToolFailure("the shop database is not available")
    return ctx.db


def _user(db: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        raise ToolFailure("I couldn't find that customer account.")
    return {
        "user_id": row["user_id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
        "address": json.loads(row["address"]),
        "payment_methods": json.loads(row["payment_methods"]),
    }


def _order(db: sqlite3.Connection, user_id: str, order_id: str) -> dict[str, Any]:
    order_id = _normalise_order_id(order_id)
    row = db.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise ToolFailure(f"I couldn't find order {order_id}.")
    if row["user_id"] != user_id:
        # Same answer as for a missing order: never confirm that another customer's order exists.
        raise ToolFailure(f"Order {order_id} is not on your account, so I can't help with it.")
    order = {k: row[k] for k in row.keys()}  # noqa: SIM118
    for key in (
        "address",
        "items",
        "fulfillments",
        "payment_history",
        "return_items",
        "exchange_items",
        "exchange_new_items",
    ):
        if order.get(key):
            order[key] = json.loads(order[key])
    return order


def _address(
    address1: str, address2: str, city: str, state: str, country: str, zip_code: str
) -> dict[str, str]:
    if not (address1.strip() and city.strip() and state.strip() and zip_code.strip()):
        raise ToolFailure("An address needs a street, a city, a state and a zip code.")
    return {
        "address1": address1,
        "address2": address2,
        "city": city,
        "country": country,
        "state": state,
        "zip": zip_code,
    }


def _normalise_order_id(order_id: str) -> str:
    text = order_id.strip().upper()
    return text if text.startswith("#") else f"#{text}"


def _describe_options(options: dict[str, Any]) -> str:
    # "yes" and "no" mean nothing without the option's name: "water resistance: no".
    return ", ".join(f"{k}: {v}" if str(v).lower() in ("yes", "no") else str(v) for k, v in options.items())


def _describe_variant(options: dict[str, Any]) -> str:
    """A variant's options with their names ("switch type: clicky, backlight: none"): a value such
    as "yes" or "none" means nothing without its name."""
    return ", ".join(f"{k}: {v}" for k, v in options.items())


def _payment_label(method: dict[str, Any]) -> str:
    source = method["source"]
    if source == "credit_card":
        return f"{method.get('brand', 'card').title()} credit card ending {method.get('last_four', '????')}"
    if source == "gift_card":
        return f"gift card {method['id']} (balance ${method.get('balance', 0):.2f})"
    return f"PayPal ({method['id']})"


def _item_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for item in items:
        if item["item_id"] in seen:
            continue
        seen.add(item["item_id"])
        rows.append(
            {
                "item_id": item["item_id"],
                "product_id": item["product_id"],
                "name": item["name"],
                "price": item["price"],
                "options": item["options"],
                "label": f"{item['name']} ({_describe_options(item['options'])}), ${item['price']:.2f}",
            }
        )
    return rows


def _order_summary(order: dict[str, Any]) -> dict[str, Any]:
    names = ", ".join(i["name"] for i in order["items"])
    total = round(sum(i["price"] for i in order["items"]), 2)
    return {
        "order_id": order["order_id"],
        "status": order["status"],
        "total": total,
        "item_names": names,
        "label": f"{order['order_id']} ({order['status']}): {names}",
    }


def _paid_with(order: dict[str, Any]) -> list[str]:
    return [p["payment_method_id"] for p in order["payment_history"] if p["transaction_type"] == "payment"]


# ---- lookups ------------------------------------------------------------------------------


@toolset.tool
def find_user_id_by_email(ctx: ToolContext, email: str) -> str:
    """Find a customer's user id by their email address."""
    row = _db(ctx).execute("SELECT user_id FROM users WHERE email = ?", (email.strip().lower(),)).fetchone()
    if row is None:
        raise ToolFailure(f"I couldn't find an account with the email {email}.")
    return str(row["user_id"])


@toolset.tool
def find_user_id_by_name_zip(ctx: ToolContext, first_name: str, last_name: str, zip: str) -> str:
    """Find a customer's user id by first name, last name and zip code."""
    rows = (
        _db(ctx)
        .execute(
            "SELECT user_id, address FROM users WHERE lower(first_name) = ? AND lower(last_name) = ?",
            (first_name.strip().lower(), last_name.strip().lower()),
        )
        .fetchall()
    )
    for row in rows:
        if json.loads(row["address"]).get("zip") == zip.strip():
            return str(row["user_id"])
    raise ToolFailure(f"I couldn't find an account for {first_name} {last_name} with zip code {zip}.")


@toolset.tool
def get_user_details(ctx: ToolContext, user_id: str) -> dict[str, Any]:
    """A customer's profile: name, email, default address, payment methods and order ids."""
    db = _db(ctx)
    user = _user(db, user_id)
    orders = [r["order_id"] for r in db.execute("SELECT order_id FROM orders WHERE user_id = ?", (user_id,))]
    user["payment_method_list"] = [
        {"id": m["id"], "label": _payment_label(m), "source": m["source"]}
        for m in user["payment_methods"].values()
    ]
    user["orders"] = orders
    address = user["address"]
    user["address_text"] = ", ".join(
        p
        for p in (
            address["address1"],
            address.get("address2"),
            address["city"],
            f"{address['state']} {address['zip']}",
            address["country"],
        )
        if p
    )
    return user


@toolset.tool
def list_orders(ctx: ToolContext, user_id: str, status: str | None = None) -> list[dict[str, Any]]:
    """The customer's orders (optionally only those with a given status), newest first."""
    db = _db(ctx)
    rows = db.execute(
        "SELECT order_id FROM orders WHERE user_id = ? ORDER BY rowid DESC", (user_id,)
    ).fetchall()
    orders = [_order(db, user_id, r["order_id"]) for r in rows]
    return [_order_summary(o) for o in orders if status is None or o["status"] == status]


@toolset.tool
def get_order_details(ctx: ToolContext, user_id: str, order_id: str) -> dict[str, Any]:
    """One of the customer's orders with its items, status, payments and tracking."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    methods = _user(db, user_id)["payment_methods"]
    order["item_list"] = _item_rows(order["items"])
    order["summary"] = _order_summary(order)
    order["tracking"] = [t for f in order["fulfillments"] for t in f.get("tracking_id", [])]
    order["total"] = round(sum(i["price"] for i in order["items"]), 2)
    # What paid for it, in words ("Visa credit card ending 3194, $123.45").
    order["payments"] = [
        {
            "label": _payment_label(methods[p["payment_method_id"]]) if p["payment_method_id"] in methods else p["payment_method_id"],
            "amount": p["amount"],
            "kind": p["transaction_type"],
        }
        for p in order["payment_history"]
    ]
    return order


@toolset.tool
def list_products(ctx: ToolContext) -> list[dict[str, Any]]:
    """All product types the shop sells."""
    rows = _db(ctx).execute("SELECT product_id, name FROM products ORDER BY name").fetchall()
    return [{"product_id": r["product_id"], "name": r["name"], "label": r["name"]} for r in rows]


@toolset.tool
def get_product_details(ctx: ToolContext, product_id: str) -> dict[str, Any]:
    """A product with its variants, availability and prices."""
    db = _db(ctx)
    product = db.execute("SELECT * FROM products WHERE product_id = ?", (product_id,)).fetchone()
    if product is None:
        raise ToolFailure("I couldn't find that product.")
    variants = db.execute(
        "SELECT * FROM variants WHERE product_id = ? ORDER BY price", (product_id,)
    ).fetchall()
    available = [v for v in variants if v["available"]]
    return {
        "product_id": product_id,
        "name": product["name"],
        "variant_count": len(variants),
        "available_count": len(available),
        "available": [
            {
                "item_id": v["item_id"],
                "price": v["price"],
                "label": f"{_describe_variant(json.loads(v['options']))}, ${v['price']:.2f}",
            }
            for v in available
        ],
        "min_price": min((v["price"] for v in variants), default=0),
        "max_price": max((v["price"] for v in variants), default=0),
    }


@toolset.tool
def exchange_options(ctx: ToolContext, user_id: str, order_id: str, item_id: str) -> list[dict[str, Any]]:
    """Available variants of the same product as ``item_id`` in the order, other than itself."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    item = next((i for i in order["items"] if i["item_id"] == item_id), None)
    if item is None:
        raise ToolFailure("That item is not in the order.")
    rows = db.execute(
        "SELECT * FROM variants WHERE product_id = ? AND item_id != ? AND available = 1 ORDER BY price",
        (item["product_id"], item_id),
    ).fetchall()
    if not rows:
        raise ToolFailure(f"There are no other available options of the {item['name']} right now.")

    def changes(row: sqlite3.Row) -> int:
        options = json.loads(row["options"])
        return sum(1 for k, v in options.items() if item["options"].get(k) != v)

    # Closest first: the variant that differs from the customer's item in the fewest options.
    return [
        {
            "item_id": r["item_id"],
            "price": r["price"],
            "difference": round(r["price"] - item["price"], 2),
            "changes": changes(r),
            "label": f"{_describe_variant(json.loads(r['options']))}, ${r['price']:.2f}",
        }
        for r in sorted(rows, key=lambda r: (changes(r), r["price"]))
    ]


@toolset.tool
def refund_options(ctx: ToolContext, user_id: str, order_id: str) -> list[dict[str, Any]]:
    """Where a refund may go: the order's original payment method, or one of the customer's gift cards."""
    db = _db(ctx)
    user = _user(db, user_id)
    order = _order(db, user_id, order_id)
    allowed = []
    for method_id, method in user["payment_methods"].items():
        if method_id in _paid_with(order) or method["source"] == "gift_card":
            allowed.append({"id": method_id, "label": _payment_label(method)})
    return allowed


@toolset.tool
def payment_options(ctx: ToolContext, user_id: str, exclude: str | None = None) -> list[dict[str, Any]]:
    """The customer's payment methods, except ``exclude``."""
    user = _user(_db(ctx), user_id)
    return [
        {"id": m["id"], "label": _payment_label(m)}
        for m in user["payment_methods"].values()
        if m["id"] != exclude
    ]


@toolset.tool
def parse_address(text: str) -> dict[str, str]:
    """Split "street, [unit,] city, ST 12345[, country]" into fields, or say what is missing."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    country = "USA"
    if parts and re.fullmatch(r"(USA|US|United States)", parts[-1], re.IGNORECASE):
        parts = parts[:-1]
    if len(parts) < 3:
        raise ToolFailure(
            "Please give the address as: street, city, state and zip (for example: 12 Oak St, Austin, TX 78701)."
        )
    state_zip = re.fullmatch(r"([A-Za-z]{2})\s+(\d{5})", parts[-1])
    if not state_zip:
        raise ToolFailure("I need the two-letter state and the 5-digit zip code at the end, like 'TX 78701'.")
    address1, city = parts[0], parts[-2]
    address2 = parts[1] if len(parts) == 4 else ""
    return {
        "address1": address1,
        "address2": address2,
        "city": city,
        "state": state_zip.group(1).upper(),
        "zip": state_zip.group(2),
        "country": country,
        "text": ", ".join(
            p
            for p in (address1, address2, city, f"{state_zip.group(1).upper()} {state_zip.group(2)}", country)
            if p
        ),
    }


# ---- writes -------------------------------------------------------------------------------

_CANCEL_REASONS = ("no longer needed", "ordered by mistake")


@toolset.tool(writes=True)
def cancel_pending_order(ctx: ToolContext, user_id: str, order_id: str, reason: str) -> dict[str, Any]:
    """Cancel a pending order; the total is refunded to the original payment method."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    if order["status"] != "pending":
        raise ToolFailure(
            f"Order {order['order_id']} is {order['status']}, and only pending orders can be cancelled."
        )
    if reason not in _CANCEL_REASONS:
        raise ToolFailure("The reason must be 'no longer needed' or 'ordered by mistake'.")
    history = order["payment_history"]
    for payment in list(history):
        if payment["transaction_type"] == "payment":
            history.append(
                {
                    "transaction_type": "refund",
                    "amount": payment["amount"],
                    "payment_method_id": payment["payment_method_id"],
                }
            )
            _adjust_gift_card(db, user_id, payment["payment_method_id"], payment["amount"])
    db.execute(
        "UPDATE orders SET status = 'cancelled', cancel_reason = ?, payment_history = ? WHERE order_id = ?",
        (reason, json.dumps(history), order["order_id"]),
    )
    paid = _paid_with(order)
    immediate = bool(paid) and paid[0].startswith("gift_card")
    return {"order_id": order["order_id"], "status": "cancelled", "refund_immediate": immediate}


@toolset.tool(writes=True)
def modify_pending_order_address(
    ctx: ToolContext,
    user_id: str,
    order_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> dict[str, Any]:
    """Change the shipping address of a pending order."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    if order["status"] != "pending":
        raise ToolFailure(
            f"Order {order['order_id']} is {order['status']}; only pending orders can be changed."
        )
    address = _address(address1, address2, city, state, country, zip)
    db.execute("UPDATE orders SET address = ? WHERE order_id = ?", (json.dumps(address), order["order_id"]))
    return {"order_id": order["order_id"], "address": address}


@toolset.tool(writes=True)
def modify_pending_order_payment(
    ctx: ToolContext, user_id: str, order_id: str, payment_method_id: str
) -> dict[str, Any]:
    """Pay a pending order with another of the customer's payment methods."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    user = _user(db, user_id)
    if order["status"] != "pending":
        raise ToolFailure(
            f"Order {order['order_id']} is {order['status']}; only pending orders can be changed."
        )
    payments = [p for p in order["payment_history"] if p["transaction_type"] == "payment"]
    if len(payments) != 1:
        raise ToolFailure("This order's payment can't be changed because it was paid in more than one way.")
    old = payments[0]
    method = user["payment_methods"].get(payment_method_id)
    if method is None:
        raise ToolFailure("That payment method is not on your account.")
    if payment_method_id == old["payment_method_id"]:
        raise ToolFailure("That is the payment method the order already uses.")
    amount = old["amount"]
    if method["source"] == "gift_card" and method.get("balance", 0) < amount:
        raise ToolFailure(
            f"The gift card balance (${method.get('balance', 0):.2f}) does not cover ${amount:.2f}."
        )
    history = order["payment_history"] + [
        {"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": old["payment_method_id"]},
    ]
    _adjust_gift_card(db, user_id, payment_method_id, -amount)
    _adjust_gift_card(db, user_id, old["payment_method_id"], amount)
    db.execute(
        "UPDATE orders SET payment_history = ? WHERE order_id = ?", (json.dumps(history), order["order_id"])
    )
    return {"order_id": order["order_id"], "payment_method_id": payment_method_id}


def _swap_items(
    db: sqlite3.Connection, order: dict[str, Any], item_ids: list[str], new_item_ids: list[str]
) -> tuple[list[dict[str, Any]], float]:
    if len(item_ids) != len(new_item_ids) or not item_ids:
        raise ToolFailure("Each item to change needs exactly one new option.")
    items = [dict(i) for i in order["items"]]
    difference = 0.0
    for old_id, new_id in zip(item_ids, new_item_ids, strict=True):
        index = next(
            (n for n, i in enumerate(items) if i["item_id"] == old_id and not i.get("_swapped")), None
        )
        if index is None:
            raise ToolFailure(f"Item {old_id} is not in order {order['order_id']}.")
        variant = db.execute("SELECT * FROM variants WHERE item_id = ?", (new_id,)).fetchone()
        if variant is None or not variant["available"]:
            raise ToolFailure(f"The new item {new_id} is not available.")
        if variant["product_id"] != items[index]["product_id"]:
            raise ToolFailure("Items can only be changed to another option of the same product.")
        if new_id == old_id:
            raise ToolFailure("The new option must be different from the current one.")
        difference += variant["price"] - items[index]["price"]
        items[index] = {
            **items[index],
            "item_id": new_id,
            "price": variant["price"],
            "options": json.loads(variant["options"]),
            "_swapped": True,
        }
    for item in items:
        item.pop("_swapped", None)
    return items, round(difference, 2)


def _adjust_gift_card(db: sqlite3.Connection, user_id: str, method_id: str, amount: float) -> None:
    if not method_id.startswith("gift_card"):
        return
    user = _user(db, user_id)
    method = user["payment_methods"].get(method_id)
    if method is None:
        return
    method["balance"] = round(method.get("balance", 0) + amount, 2)
    db.execute(
        "UPDATE users SET payment_methods = ? WHERE user_id = ?",
        (json.dumps(user["payment_methods"]), user_id),
    )


def _check_difference_payment(
    db: sqlite3.Connection, user_id: str, method_id: str, difference: float
) -> None:
    method = _user(db, user_id)["payment_methods"].get(method_id)
    if method is None:
        raise ToolFailure("That payment method is not on your account.")
    if method["source"] == "gift_card" and difference > method.get("balance", 0):
        raise ToolFailure(
            f"The gift card balance (${method.get('balance', 0):.2f}) does not cover the ${difference:.2f} difference."
        )


@toolset.tool(writes=True)
def modify_pending_order_items(
    ctx: ToolContext,
    user_id: str,
    order_id: str,
    item_ids: list[str],
    new_item_ids: list[str],
    payment_method_id: str,
) -> dict[str, Any]:
    """Change items of a pending order to other options of the same products (once per order)."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    if order["status"] != "pending":
        raise ToolFailure(
            f"Order {order['order_id']} is {order['status']}; only pending orders can be changed."
        )
    items, difference = _swap_items(db, order, item_ids, new_item_ids)
    _check_difference_payment(db, user_id, payment_method_id, difference)
    history = order["payment_history"]
    if difference:
        history.append(
            {
                "transaction_type": "payment" if difference > 0 else "refund",
                "amount": abs(difference),
                "payment_method_id": payment_method_id,
            }
        )
        _adjust_gift_card(db, user_id, payment_method_id, -difference)
    db.execute(
        "UPDATE orders SET items = ?, status = 'pending (item modified)', payment_history = ? WHERE order_id = ?",
        (json.dumps(items), json.dumps(history), order["order_id"]),
    )
    return {
        "order_id": order["order_id"],
        "status": "pending (item modified)",
        "price_difference": difference,
    }


@toolset.tool(writes=True)
def return_delivered_order_items(
    ctx: ToolContext, user_id: str, order_id: str, item_ids: list[str], payment_method_id: str
) -> dict[str, Any]:
    """Request a return of delivered items; the refund goes to the original payment method or a gift card."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    user = _user(db, user_id)
    if order["status"] != "delivered":
        raise ToolFailure(
            f"Order {order['order_id']} is {order['status']}; only delivered orders can be returned."
        )
    method = user["payment_methods"].get(payment_method_id)
    if method is None:
        raise ToolFailure("That payment method is not on your account.")
    if payment_method_id not in _paid_with(order) and method["source"] != "gift_card":
        raise ToolFailure("Refunds can only go to the original payment method or an existing gift card.")
    remaining = [i["item_id"] for i in order["items"]]
    for item_id in item_ids:
        if item_id not in remaining:
            raise ToolFailure(f"Item {item_id} is not in order {order['order_id']}.")
        remaining.remove(item_id)
    refund = round(
        sum(next(i["price"] for i in order["items"] if i["item_id"] == item_id) for item_id in item_ids), 2
    )
    db.execute(
        "UPDATE orders SET status = 'return requested', return_items = ?, return_payment_method_id = ? WHERE order_id = ?",
        (json.dumps(sorted(item_ids)), payment_method_id, order["order_id"]),
    )
    return {"order_id": order["order_id"], "status": "return requested", "refund": refund}


@toolset.tool(writes=True)
def exchange_delivered_order_items(
    ctx: ToolContext,
    user_id: str,
    order_id: str,
    item_ids: list[str],
    new_item_ids: list[str],
    payment_method_id: str,
) -> dict[str, Any]:
    """Exchange delivered items for other options of the same products (once per order)."""
    db = _db(ctx)
    order = _order(db, user_id, order_id)
    if order["status"] != "delivered":
        raise ToolFailure(
            f"Order {order['order_id']} is {order['status']}; only delivered orders can be exchanged."
        )
    _, difference = _swap_items(db, order, item_ids, new_item_ids)
    _check_difference_payment(db, user_id, payment_method_id, difference)
    db.execute(
        "UPDATE orders SET status = 'exchange requested', exchange_items = ?, exchange_new_items = ?,"
        " exchange_payment_method_id = ?, exchange_price_difference = ? WHERE order_id = ?",
        (
            json.dumps(sorted(item_ids)),
            json.dumps(sorted(new_item_ids)),
            payment_method_id,
            difference,
            order["order_id"],
        ),
    )
    return {"order_id": order["order_id"], "status": "exchange requested", "price_difference": difference}


@toolset.tool(writes=True)
def modify_user_address(
    ctx: ToolContext,
    user_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> dict[str, Any]:
    """Change the customer's default address."""
    db = _db(ctx)
    _user(db, user_id)
    address = _address(address1, address2, city, state, country, zip)
    db.execute("UPDATE users SET address = ? WHERE user_id = ?", (json.dumps(address), user_id))
    return {"user_id": user_id, "address": address}


@toolset.tool(writes=True)
def transfer_to_human_agents(ctx: ToolContext, user_id: str | None, summary: str) -> str:
    """Hand the conversation to a human agent with a summary of the issue."""
    return "Transfer successful"
