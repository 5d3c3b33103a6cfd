"""Invoices: the document (``models``), where it is kept and how it is numbered (``store``). The billing run
(``wrapper.billing``) rates and issues the period-end invoices; every other charge is invoiced through here."""
