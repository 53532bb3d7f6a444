"""The company's records: employees, departments, cost centres, systems, and the requests made.

The seed data is made up for the demo, deterministically: 60 employees in 6 departments, each with
a manager (the department head; the heads report to the chief executive), a leave balance and a
cost centre, and 6 systems with an owner.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from procpilot.tools import ToolContext, ToolFailure, Toolset

toolset = Toolset("company")

DEPARTMENTS = [  # name, cost centre, head
    ("Executive", "CC-100", "e001"),
    ("Engineering", "CC-200", "e002"),
    ("Finance", "CC-300", "e003"),
    ("People", "CC-400", "e004"),
    ("Sales", "CC-500", "e005"),
    ("Operations", "CC-600", "e006"),
]
FIRST = [
    "Ada",
    "Ben",
    "Clara",
    "David",
    "Eva",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karla",
    "Leon",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Anton",
    "Bea",
    "Carl",
    "Dora",
    "Emil",
    "Frida",
    "Gus",
    "Hanna",
    "Ivo",
    "Jana",
    "Kai",
    "Lina",
    "Milo",
    "Nora",
    "Oskar",
    "Pia",
    "Rafael",
    "Sara",
    "Theo",
    "Uma",
    "Vito",
    "Wanda",
    "Yara",
    "Zeno",
    "Alma",
    "Bruno",
    "Cleo",
    "Dario",
    "Elif",
    "Finn",
    "Gina",
    "Henrik",
    "Iris",
    "Jakob",
]
LAST = [
    "Adler",
    "Bauer",
    "Costa",
    "Diaz",
    "Engel",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ito",
    "Jensen",
    "Klein",
    "Lang",
    "Meyer",
    "Novak",
    "Okafor",
    "Petrov",
    "Quint",
    "Richter",
    "Schmidt",
    "Tanaka",
    "Ulrich",
    "Vogel",
    "Wagner",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Alves",
    "Berg",
    "Conti",
    "Dahl",
    "Ernst",
    "Falk",
    "Graf",
    "Haas",
    "Iqbal",
    "Jung",
    "Koch",
    "Lindqvist",
    "Moreau",
    "Nagy",
    "Ortiz",
    "Park",
    "Reyes",
    "Santos",
    "Torres",
    "Urban",
    "Voss",
    "Weber",
    "Young",
    "Zeller",
    "Abbott",
    "Brandt",
    "Chen",
    "Dufour",
    "Eriksen",
    "Fontaine",
    "Gupta",
    "Horvat",
    "Ivanova",
    "Jovanovic",
]
SYSTEMS = [  # id, name, owner
    ("github", "GitHub", "e002"),
    ("salesforce", "Salesforce", "e005"),
    ("payroll", "Payroll", "e004"),
    ("erp", "ERP", "e003"),
    ("vpn", "VPN", "e006"),
    ("warehouse", "Data warehouse", "e012"),
]


def seed(db: sqlite3.Connection, data_dir: Path) -> None:
    db.executescript(
        """
        CREATE TABLE departments (name TEXT PRIMARY KEY, cost_centre TEXT NOT NULL, head TEXT NOT NULL);
        CREATE TABLE employees (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, department TEXT NOT NULL,
            title TEXT NOT NULL, manager_id TEXT, leave_balance INTEGER NOT NULL, cost_centre TEXT NOT NULL);
        CREATE TABLE systems (id TEXT PRIMARY KEY, name TEXT NOT NULL, owner_id TEXT NOT NULL);
        CREATE TABLE leave (
            id INTEGER PRIMARY KEY, employee_id TEXT, start TEXT, days INTEGER, approved_by TEXT, reference TEXT);
        CREATE TABLE expenses (
            id INTEGER PRIMARY KEY, employee_id TEXT, amount REAL, currency TEXT, category TEXT, spent_on TEXT,
            merchant TEXT, cost_centre TEXT, approved_by TEXT, reference TEXT);
        CREATE TABLE access (
            id INTEGER PRIMARY KEY, employee_id TEXT, system_id TEXT, expires_on TEXT, approved_by TEXT,
            reference TEXT, revoked_on TEXT);
        """
    )
    db.executemany("INSERT INTO departments VALUES (?, ?, ?)", DEPARTMENTS)
    for number in range(1, 61):
        employee = f"e{number:03d}"
        first, last = FIRST[number - 1], LAST[number - 1]
        if number <= 6:
            name, cost_centre, _ = DEPARTMENTS[number - 1]
            department = name
            title = "Chief Executive" if number == 1 else f"Head of {name}"
            manager = None if number == 1 else "e001"
        else:
            department, cost_centre, manager = DEPARTMENTS[1 + (number - 7) % 5]
            title = "Specialist"
        balance = 5 + (number * 7) % 21  # 5 to 25 days
        db.execute(
            "INSERT INTO employees VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                employee,
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}@example.com",
                department,
                title,
                manager,
                balance,
                cost_centre,
            ),
        )
    db.executemany("INSERT INTO systems VALUES (?, ?, ?)", SYSTEMS)


def _reference(ctx: ToolContext, prefix: str) -> str:
    return f"{prefix}-{hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:6].upper()}"


@toolset.tool
def get_employee(ctx: ToolContext, employee_id: str) -> dict:
    """An employee's record with their manager's name."""
    assert ctx.db is not None
    row = ctx.db.execute(
        "SELECT e.id, e.name, e.email, e.department, e.title, e.manager_id, e.leave_balance, e.cost_centre, "
        "m.name FROM employees e LEFT JOIN employees m ON m.id = e.manager_id WHERE e.id = ?",
        (employee_id,),
    ).fetchone()
    if row is None:
        raise ToolFailure("I don't know you as an employee; please sign in with your employee id.")
    keys = (
        "id",
        "name",
        "email",
        "department",
        "title",
        "manager_id",
        "leave_balance",
        "cost_centre",
        "manager_name",
    )
    return dict(zip(keys, row, strict=True))


@toolset.tool
def list_systems(ctx: ToolContext) -> list[dict]:
    """The systems one can ask access to, with their owners."""
    assert ctx.db is not None
    rows = ctx.db.execute(
        "SELECT s.id, s.name, s.owner_id, e.name FROM systems s JOIN employees e ON e.id = s.owner_id ORDER BY s.name"
    ).fetchall()
    return [{"id": r[0], "name": r[1], "owner_id": r[2], "owner_name": r[3]} for r in rows]


@toolset.tool(writes=True)
def book_leave(ctx: ToolContext, employee_id: str, start: str, days: int, approved_by: str) -> dict:
    """Book approved leave and take it off the balance (checked again here)."""
    assert ctx.db is not None
    balance = ctx.db.execute("SELECT leave_balance FROM employees WHERE id = ?", (employee_id,)).fetchone()
    if balance is None or balance[0] < days:
        raise ToolFailure("Your leave balance is too low for this request.")
    ctx.db.execute("UPDATE employees SET leave_balance = leave_balance - ? WHERE id = ?", (days, employee_id))
    reference = _reference(ctx, "LV")
    ctx.db.execute(
        "INSERT INTO leave (employee_id, start, days, approved_by, reference) VALUES (?, ?, ?, ?, ?)",
        (employee_id, start, days, approved_by, reference),
    )
    return {"reference": reference, "remaining": balance[0] - days}


@toolset.tool(writes=True)
def file_expense(
    ctx: ToolContext,
    employee_id: str,
    amount: float,
    currency: str,
    category: str,
    spent_on: str,
    merchant: str,
    approved_by: str,
) -> dict:
    """Record an approved expense claim against the employee's cost centre, for reimbursement."""
    assert ctx.db is not None
    if amount <= 0 or amount > 10000:
        raise ToolFailure("An expense claim must be between 0 and 10,000.")
    centre = ctx.db.execute("SELECT cost_centre FROM employees WHERE id = ?", (employee_id,)).fetchone()
    if centre is None:
        raise ToolFailure("I don't know you as an employee.")
    reference = _reference(ctx, "EX")
    ctx.db.execute(
        "INSERT INTO expenses (employee_id, amount, currency, category, spent_on, merchant, cost_centre, approved_by,"
        " reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (employee_id, amount, currency, category, spent_on, merchant, centre[0], approved_by, reference),
    )
    return {"reference": reference, "cost_centre": centre[0]}


@toolset.tool(writes=True)
def grant_access(ctx: ToolContext, employee_id: str, system_id: str, days: int, approved_by: str) -> dict:
    """Grant access to a system until an expiry date."""
    assert ctx.db is not None
    if not 1 <= days <= 365:
        raise ToolFailure("Access can be granted for 1 to 365 days.")
    expires = (date.today() + timedelta(days=days)).isoformat()
    reference = _reference(ctx, "AC")
    ctx.db.execute(
        "INSERT INTO access (employee_id, system_id, expires_on, approved_by, reference) VALUES (?, ?, ?, ?, ?)",
        (employee_id, system_id, expires, approved_by, reference),
    )
    return {"reference": reference, "expires_on": expires}


@toolset.tool(writes=True)
def revoke_access(ctx: ToolContext, reference: str) -> dict:
    """End one access grant (its time is up)."""
    assert ctx.db is not None
    changed = ctx.db.execute(
        "UPDATE access SET revoked_on = ? WHERE reference = ? AND revoked_on IS NULL",
        (date.today().isoformat(), reference),
    ).rowcount
    return {"reference": reference, "revoked": changed == 1}


@toolset.tool(writes=True)
def revoke_expired_access(ctx: ToolContext) -> dict:
    """End every access grant whose expiry date has passed (the daily sweep)."""
    assert ctx.db is not None
    today = date.today().isoformat()
    changed = ctx.db.execute(
        "UPDATE access SET revoked_on = ? WHERE expires_on < ? AND revoked_on IS NULL", (today, today)
    ).rowcount
    return {"revoked": changed}


@toolset.tool
def get_system(ctx: ToolContext, system_id: str) -> dict:
    """One system and its owner."""
    for system in list_systems(ctx):
        if system["id"] == system_id:
            return system
    raise ToolFailure(f"There is no system {system_id!r}.")
