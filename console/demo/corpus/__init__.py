"""The demo's text: Northwind Cloud (a made-up platform for web apps, managed
Postgres and object storage), its customers, support questions, documentation,
analytics questions and web chats. Written by hand so it reads like real traffic;
slots (names, amounts, dates, ids) vary it per trace."""
