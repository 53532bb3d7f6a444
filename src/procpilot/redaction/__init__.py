"""Redaction: finding personal data in text and replacing it with consistent pseudonyms.

``recognizers`` holds procpilot's own recognizers (street addresses and postcodes of the US, the
UK and Germany; Chinese mobile numbers, resident ids and bank cards; names the conversation
knows or states); ``redactor`` runs them beside Presidio's pattern and checksum recognizers
(email, phone, IBAN, cards with Luhn, URLs), and a spaCy model's names and places when one is
installed or configured by path. Nothing is downloaded.
"""

from procpilot.redaction.pseudonyms import POLICY_VERSION, Pseudonyms, RedactionFailed

# The Redactor (procpilot.redaction.redactor) is imported where it is used: it loads Presidio and spaCy.
__all__ = ["POLICY_VERSION", "Pseudonyms", "RedactionFailed"]
