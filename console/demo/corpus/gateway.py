"""Internal jobs that call models through the LLM gateway: call summaries, UI
translations, invoice extraction and reply drafts."""

from __future__ import annotations

TRANSCRIPTS = (
    ("Agent: Northwind support, this is Sam. How can I help?\nCustomer: Hi, we moved our DNS to Cloudflare yesterday "
     "and since then half our users get certificate errors on app.quaysidehealth.com.\nAgent: Are you proxying the "
     "record through Cloudflare, the orange cloud?\nCustomer: Yes, I think so.\nAgent: That's likely it. With the "
     "proxy on, Cloudflare terminates TLS with its own certificate, and our certificate renewal can't validate. "
     "Either turn the proxy off for that record, or set Cloudflare's SSL mode to Full (strict).\nCustomer: OK, I'll "
     "switch it to DNS only.\nAgent: Great. Give it five minutes and hit Retry on the domain page. I'll keep the "
     "ticket open until tomorrow in case it doesn't clear.\nCustomer: Perfect, thanks Sam.",
     "Customer (Quayside Health) saw certificate errors on app.quaysidehealth.com after moving DNS to Cloudflare "
     "with the proxy enabled. Agent explained the proxy blocks certificate validation; customer is switching the "
     "record to DNS only. Follow-up: confirm the certificate renewed tomorrow; ticket stays open."),
    ("Agent: Hi, you're through to Northwind billing, Priya speaking.\nCustomer: Hello. Our invoice doubled this "
     "month and nobody on our side changed anything.\nAgent: Let me look. I see 14 seats this month, up from 7, added "
     "on the 3rd.\nCustomer: Oh. That must be the contractors our CTO invited.\nAgent: That would explain it. Seats "
     "are prorated, so you paid about 27 days for the new ones. If some are read-only, you can switch them to "
     "viewers, which are free.\nCustomer: Can you refund the contractor seats?\nAgent: I can't refund seats that were "
     "used, but I can set the seat count back to 7 from today so next month is back to normal.\nCustomer: Please do.",
     "Customer's invoice doubled because 7 seats were added on the 3rd (contractors). Agent explained proration "
     "and free viewer seats, declined a refund for used seats, and reduced seats back to 7 from today. No further "
     "action needed."),
    ("Agent: Northwind, this is Jonas.\nCustomer: Our production database is at 98% storage and writes are starting "
     "to fail. Can you increase it right now?\nAgent: Yes, I can see prod-main at 97.8% of 200 GB. I'm bumping it to "
     "400 GB; storage grows online, no restart.\nCustomer: How long?\nAgent: It's done, you should see 400 GB in the "
     "dashboard. Also, autovacuum hasn't completed on the events table for 9 days; it has 60 GB of dead tuples.\n"
     "Customer: What does that mean for us?\nAgent: Disk use will keep climbing. Running VACUUM on events during a "
     "quiet hour would reclaim space for new rows. I'd also enable storage autoscaling so this can't page you again."
     "\nCustomer: Do it.",
     "Production database prod-main hit 98% of 200 GB and writes began failing. Agent grew storage to 400 GB online "
     "and enabled storage autoscaling. Root cause: autovacuum stalled on the events table (60 GB dead tuples). "
     "Follow-up: customer to run VACUUM on events during a quiet hour."),
)

UI_STRINGS = (
    "Your deployment is live. Share the preview link with your team or promote it to production.",
    "We couldn't verify your domain yet. DNS changes can take a few minutes to propagate.",
    "Invite teammates to collaborate on this project. Viewers can see deployments but can't change settings.",
    "Storage is almost full. Upgrade your database or enable autoscaling to avoid failed writes.",
    "Two-factor authentication protects your account even if your password is stolen.",
    "This API key will only be shown once. Copy it now and store it somewhere safe.",
)
LANGUAGES = ("German", "French", "Japanese", "Spanish", "Brazilian Portuguese")
TRANSLATIONS = {
    "German": "Ihre Bereitstellung ist live. Teilen Sie den Vorschau-Link mit Ihrem Team oder stufen Sie sie in die "
              "Produktion hoch.",
    "French": "Votre déploiement est en ligne. Partagez le lien d'aperçu avec votre équipe ou passez-le en "
              "production.",
    "Japanese": "デプロイが公開されました。"
                "プレビューリンクをチームと共有するか、本番環境に昇格してください。",
    "Spanish": "Tu despliegue ya está en línea. Comparte el enlace de vista previa con tu equipo o promuévelo a "
               "producción.",
    "Brazilian Portuguese": "Sua implantação está no ar. Compartilhe o link de pré-visualização com sua equipe "
                            "ou promova-a para produção.",
}

INVOICES = (
    ("ACME HOSTING SUPPLIES GmbH\nRechnung Nr. 2025-11873\nDatum: 04.11.2025\n\n2x Rack PDU 16A       EUR 1.180,00\n"
     "Installation             EUR   240,00\nZwischensumme            EUR 1.420,00\nMwSt. 19%                EUR   "
     "269,80\nGesamtbetrag             EUR 1.689,80\n\nZahlbar innerhalb von 14 Tagen.",
     '{"vendor": "ACME HOSTING SUPPLIES GmbH", "invoice_number": "2025-11873", "date": "2025-11-04", '
     '"currency": "EUR", "subtotal": 1420.00, "tax": 269.80, "total": 1689.80, "due_days": 14}'),
    ("Brightleaf Labs Inc.\nINVOICE #BL-0932\nIssued: Oct 28, 2025   Due: Nov 27, 2025\n\nDesign system audit (20 h "
     "@ $150)   $3,000.00\nAccessibility review                    $1,200.00\nTotal due                       "
     "$4,200.00",
     '{"vendor": "Brightleaf Labs Inc.", "invoice_number": "BL-0932", "date": "2025-10-28", "currency": "USD", '
     '"subtotal": 4200.00, "tax": 0.0, "total": 4200.00, "due_date": "2025-11-27"}'),
    ("Meridian Freight Ltd - Tax invoice 77410\n12 Nov 2025\nCourier, 3 pallets, Rotterdam -> Leeds   GBP 860.00\n"
     "Fuel surcharge                               GBP  64.50\n"
     "VAT 20%                                      GBP 184.90\n"
     "TOTAL                                        GBP 1,109.40",
     '{"vendor": "Meridian Freight Ltd", "invoice_number": "77410", "date": "2025-11-12", "currency": "GBP", '
     '"subtotal": 924.50, "tax": 184.90, "total": 1109.40}'),
)

REPLY_TICKETS = (
    ("Customer asks why preview deployments are not getting their own database even though the setting is on.",
     "Hi! Preview databases are created for new preview deployments only, so branches that already had a preview "
     "before you enabled the setting keep using the shared database. Pushing a new commit to the branch creates a "
     "fresh preview with its own database branch. Let me know if you don't see it after that!"),
    ("Customer is angry that the status page showed green during a 20-minute outage in eu-west.",
     "You're right, and I'm sorry. The incident affected eu-west for about 20 minutes before the status page was "
     "updated, because our automated detection missed the partial failure. We're changing the status page to update "
     "from our own probes instead of waiting for an engineer, and Business accounts affected will receive SLA "
     "credits automatically on the next invoice."),
    ("Customer wants to know whether Northwind is SOC 2 compliant and how to get the report.",
     "Yes, Northwind Cloud has a SOC 2 Type II report, renewed every year. You can request it from the Trust "
     "Center (trust.northwind.cloud) after accepting the NDA; Enterprise customers can also ask their account "
     "manager for the bridge letter covering the period since the last audit."),
)
