"""Notifications (docs/notifications.md): a notifier that watches the durable event log and
tells people when an agent needs them — Web Push, ntfy and webhooks — with one-shot
capabilities that answer a permission request from the notification itself.

Apart from its wiring (`install.py`, `routes.py`) the package depends on nothing of the
hub: the hub hands it a `HubView` (what it needs to know about sessions, users and
devices, and how to pass on a decision) and the store, whose operations run on SQLite and
PostgreSQL alike (`tether.notify.install.install_notifications` wires it).
Importing the package is cheap: the push and HTTP libraries load with the modules that
use them.
"""
