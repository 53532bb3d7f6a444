"""Benchmarks that drive the whole assistant with simulated people and print figures.

``dialogue`` runs simulated customers (``shop_customer``) and employees (``workplace_employee``)
against the retail and workplace packs and scores each scenario by the business data afterwards.
The people are measuring instruments: they speak as people do, not as the code expects.
"""
