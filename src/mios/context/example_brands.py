"""The authored files of the two example workspaces that ``mios init`` writes, as YAML text.

They are kept as text rather than built from dicts so that people get files with comments and
the layout a person would write. ``examples`` writes them verbatim and generates the data files;
the segment rules here name attributes that ``examples`` generates, and the tests check that
every segment selects someone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

HEADER = "# Written by `mios init`. Every field is described in docs/workspace.md.\n"


@dataclass(frozen=True)
class BrandFiles:
    config: str  # mios.yaml
    offers: str  # data/offers.yaml
    policies: Mapping[str, str]  # file name in policies/ -> text
    playbooks: Mapping[str, str]  # file name in playbooks/ -> text


RETAIL_CONFIG = """\
# Northwind Outfitters: a fictional outdoor-apparel retailer in the US, the EU and Canada.
# Amounts are in the workspace currency (USD).

workspace:
  name: Northwind Outfitters
  currency: USD
  time_zone: America/Denver

brand:
  name: Northwind Outfitters
  sender:
    name: Northwind Outfitters
    email: hello@northwind-outfitters.example
    reply_to: care@northwind-outfitters.example
    postal_address:
      street: 1450 Wynkoop Street, Suite 300
      city: Denver
      region: CO
      postal_code: "80202"
      country: US
  voice:
    tone: [warm, practical, outdoorsy, plain-spoken]
    do:
      - Say what the gear does in the weather people actually face
      - Use short sentences and speak to the reader as "you"
      - Name the product and its fabric
    dont:
      - Shame people for not being outdoors enough
      - Invent urgency; say "last chance" only when it is
      - Make an environmental claim that is not in the claims library
    reading_level_max: 8
    max_exclamation_marks: 1
  banned_terms:
    - guaranteed
    - risk-free
    - miracle
    - cure
    - indestructible
    - "100% waterproof"
    - eco-friendly
    - best in the world
  claims:
    - id: stormshell-waterproof
      text: StormShell jackets are rated 20,000 mm waterproof and 15,000 g/m2 breathable.
      substantiation: LAB-2025-014
    - id: recycled-fabrics
      text: 62% of the fabrics in our 2026 range are made from recycled fibres.
      substantiation: SUS-2026-ANNUAL
    - id: lifetime-repairs
      text: We repair any Northwind product for as long as you own it.
      substantiation: POL-REPAIR-2024
    - id: fair-trade-sewn
      text: Our base layers are Fair Trade Certified sewn.
      substantiation: CERT-FT-88213
    - id: bluesign-shells
      text: Every shell fabric we use is bluesign approved.
      substantiation: CERT-BS-2026
    - id: returns-60-days
      text: Return anything unworn within 60 days for a full refund.
      substantiation: POL-RETURNS-2025
    - id: customer-rating
      text: Rated 4.8 out of 5 by more than 12,000 verified customers.
      substantiation: REVIEWS-2026-10
      channels: [email, content, paid_social]
  disclaimers:
    discount: Excludes sale items and gift cards. One use per customer. Cannot be combined.
    free_shipping: >-
      Free standard shipping to the contiguous US, the EU and Canada. Excludes bulky items.
    bundle: >-
      Bundle price applies when all items are in one order. Returned items are refunded at
      the bundle price.
    loyalty: For Northwind Summit members. Terms at northwind-outfitters.example/summit.
    trade_in: Credit issued after inspection. Jackets must be clean and complete.

objective:
  primary_kpi: profit
  target: 1250000
  horizon_days: 90
  guardrails:
    - {kpi: cac, max: 42}
    - {kpi: roas, min: 3.0}
    - {kpi: unsubscribe_rate, max: 0.004}
    - {kpi: complaint_rate, max: 0.0008}
    - {kpi: contacts_per_customer_week, max: 3}

budgets:
  email: {period: monthly, amount: 11000, max_change_pct: 25}
  sms: {period: monthly, amount: 8000, max_change_pct: 25}
  paid_search: {period: monthly, amount: 130000, max_change_pct: 20}
  paid_social: {period: monthly, amount: 90000, max_change_pct: 20}
  display: {period: monthly, amount: 35000, max_change_pct: 30}
  content: {period: quarterly, amount: 39000}

channels:
  email: {connector: simulator, daily_capacity: 250000, cost_per_contact: 0.0009}
  sms:
    connector: simulator
    daily_capacity: 40000
    cost_per_contact: 0.0125
    quiet_hours: {start: "21:00", end: "08:00"}  # customer's local time; quote the times
  push:
    connector: simulator
    daily_capacity: 120000
    cost_per_contact: 0
    quiet_hours: {start: "21:00", end: "08:00"}
  paid_search: {connector: simulator, daily_capacity: 60000, cost_per_contact: 1.15}
  paid_social: {connector: simulator, daily_capacity: 400000, cost_per_contact: 0.012}
  display: {connector: simulator, daily_capacity: 900000, cost_per_contact: 0.0034}
  content: {connector: simulator, daily_capacity: 5, cost_per_contact: 0}

segments:
  - id: vip
    name: VIP customers
    description: Lifetime value of $1,500 or more, not suppressed.
    rule:
      all:
        - {field: lifetime_value, gte: 1500}
        - {field: suppressed, eq: false}
  - id: lapsed
    name: Lapsed customers
    description: No order in the last 180 days.
    rule:
      all:
        - {field: days_since_last_order, gte: 180}
        - {field: suppressed, eq: false}
  - id: loyal_at_risk
    name: Loyal customers at risk
    description: Four or more orders, but none in the last 90 to 179 days.
    rule:
      all:
        - {field: orders, gte: 4}
        - {field: days_since_last_order, gte: 90}
        - {field: days_since_last_order, lt: 180}
  - id: new_customers
    name: New customers
    description: First order within the last 60 days.
    rule: {field: tenure_days, lte: 60}
  - id: eu_email_optin
    name: EU customers with email consent
    rule:
      all:
        - {field: region, eq: EU}
        - {field: consent.email, eq: granted}
  - id: sms_subscribers
    name: SMS subscribers
    rule:
      all:
        - {field: consent.sms, eq: granted}
        - {field: suppressed, eq: false}
  - id: cold_weather_layering
    name: Cold-weather layering shoppers
    description: Shoppers in cold places who buy jackets or base layers.
    rule:
      all:
        - any:
            - {field: region, eq: CA}
            - {field: country, in: [SE, DE, NL]}
            - {field: time_zone, in: [America/Denver, America/Chicago]}
        - {field: preferred_category, in: [jackets, base_layers]}
  - id: minors
    name: Customers under 18
    description: Never targeted with paid media or SMS; legal approves every use.
    sensitive: true
    rule: {field: age_band, eq: under_18}

agents:
  content: {enabled: true}
  advertising: {enabled: true}
  crm: {enabled: true}
  research: {enabled: true}
  analytics: {enabled: true}

autonomy:
  default: approve
  rules:
    - {kind: insight, mode: auto}
    - {kind: adjust_bid, risk: low, mode: auto}
    - {kind: adjust_bid, risk: medium, mode: notify}
    - {kind: send_message, risk: low, mode: auto}
    - {kind: send_message, risk: medium, mode: notify}
    - {kind: publish_content, risk: low, mode: notify}
    - {kind: launch_experiment, risk: low, mode: notify}
    - {kind: set_budget, mode: approve}
    - {kind: create_segment, mode: approve}
    - {kind: change_policy, mode: forbid}
    - {kind: change_autonomy, mode: forbid}

campaigns:
  - id: fall-layering-2026
    name: Fall layering 2026
    status: active
    segments: [vip, cold_weather_layering]
    channels: [email, paid_social, display]
    start: 2026-10-01
    end: 2026-11-30
    offer: layering-bundle
    budget: 45000
  - id: winback-q4-2026
    name: Q4 win-back
    status: draft
    segments: [lapsed, loyal_at_risk]
    channels: [email, sms]
    start: 2026-11-23
    end: 2026-12-20
    offer: winback-15
    budget: 12000
"""

RETAIL_OFFERS = """\
offers:
  - id: winback-15
    name: 15% off your next order
    type: discount
    margin: 0.36
    average_order_value: 118
    discount_pct: 15
    valid_from: 2026-11-01
    valid_until: 2027-01-31
    eligible_segments: [lapsed, loyal_at_risk]
    channels: [email, sms]
  - id: welcome-10
    name: 10% off your second order
    type: discount
    margin: 0.40
    average_order_value: 96
    discount_pct: 10
    eligible_segments: [new_customers]
    channels: [email, push]
  - id: free-shipping-weekend
    name: Free shipping weekend
    type: free_shipping
    margin: 0.43
    average_order_value: 89
    valid_from: 2026-11-27
    valid_until: 2026-11-30
  - id: layering-bundle
    name: Shell and base layer set, 20% off together
    type: bundle
    margin: 0.34
    average_order_value: 265
    discount_pct: 20
    eligible_segments: [vip, cold_weather_layering]
  - id: vip-early-access
    name: Early access to the winter collection
    type: loyalty
    margin: 0.52
    average_order_value: 210
    eligible_segments: [vip]
    channels: [email, sms, push]
  - id: trade-in-credit
    name: $50 credit when you trade in a used jacket
    type: trade_in
    margin: 0.41
    average_order_value: 245
    channels: [email, content]
"""

RETAIL_BRAND_SAFETY = """\
pack: brand-safety
rules:
  - id: banned-terms
    description: Copy may not use a banned term from the brand book.
    applies_to: [send_message, publish_content]
    when: 'context.brand.banned_terms.exists(t, action.content.body.contains(t))'
    effect: deny
    message: The copy uses a banned term; rewrite it without the term.
  - id: unapproved-claims
    description: Every claim must come from the claims library.
    applies_to: [send_message, publish_content]
    when: 'action.content.claims.exists(c, !(c in context.approved_claims))'
    effect: deny
    message: The copy relies on a claim legal has not substantiated.
  - id: sensitive-audience
    description: Anything aimed at a sensitive segment (such as under-18s) goes to legal.
    when: >-
      has(action.audience.segment_id)
      && action.audience.segment_id in context.sensitive_segments
    effect: {approve: {roles: [legal]}}
    message: The audience is a sensitive segment; legal must approve.
  - id: new-paid-creative
    description: New creative on paid social and display is seen by brand first.
    applies_to: [publish_content, send_message]
    when: 'action.channel in ["paid_social", "display"]'
    effect: {approve: {roles: [brand]}}
    message: New paid creative needs a brand review.
  - id: exclamation-marks
    description: The voice allows one exclamation mark per message.
    applies_to: [send_message, publish_content]
    when: 'action.content.body.matches("!.*!")'
    effect: warn
    message: More than one exclamation mark; the brand voice allows one.
"""

RETAIL_BUDGET_COMPLIANCE = """\
pack: budget-compliance
rules:
  - id: budget-increase
    description: Raising a channel budget by more than 20% needs the budget owner.
    applies_to: [set_budget]
    when: 'action.spend.amount > context.budgets[action.channel].amount * 1.2'
    effect: {approve: {roles: [budget_owner]}}
    message: This raises the channel budget by more than 20%.
  - id: large-sms-send
    description: SMS sends costing more than $500 need the budget owner.
    applies_to: [send_message]
    when: 'action.channel == "sms" && action.spend.amount > 500'
    effect: {approve: {roles: [budget_owner]}}
    message: This SMS send costs more than $500.
  - id: deep-discount
    description: Discounts above 30% need legal and the budget owner.
    applies_to: [send_message, publish_content]
    when: >-
      has(action.content.offer_id)
      && context.offers[action.content.offer_id].discount_pct > 30
    effect: {approve: {roles: [legal, budget_owner], quorum: 2}}
    message: A discount above 30% needs legal and the budget owner.
  - id: consent-required
    description: Addressed messages only reach customers with granted consent.
    applies_to: [send_message]
    when: 'action.channel in ["email", "sms", "push"] && action.audience.without_consent > 0'
    effect: deny
    message: Part of the audience has not granted consent for this channel.
  - id: small-holdout
    description: Experiments should keep at least 5% as a holdout.
    applies_to: [launch_experiment]
    when: 'action.parameters.holdout < 0.05'
    effect: warn
    message: A holdout under 5% will not measure much.
"""

RETAIL_WEEKLY = """\
name: weekly-growth
description: Every Monday morning, all five agents plan the week toward profit.
agents: [research, analytics, content, advertising, crm]
cadence: "0 7 * * 1"
objective: profit
autonomy_overrides:
  adjust_bid: notify
measurement_window_days: 7
experiments:
  holdout: 0.1
"""

RETAIL_RETENTION = """\
name: winback-retention
description: Twice a week, win back lapsed and at-risk customers by email and SMS.
agents: [crm, content, analytics]
cadence: "30 9 * * 2,4"
objective: retention
autonomy_overrides:
  send_message: approve
measurement_window_days: 28
experiments:
  holdout: 0.15
"""

B2B_CONFIG = """\
# Ledgerly: a fictional accounting SaaS for small and mid-sized companies.
# The objective is qualified pipeline. Amounts are in the workspace currency (USD).

workspace:
  name: Ledgerly
  currency: USD
  time_zone: America/Chicago

brand:
  name: Ledgerly
  sender:
    name: Ledgerly
    email: team@ledgerly.example
    reply_to: success@ledgerly.example
    postal_address:
      street: 200 West Madison Street, Floor 12
      city: Chicago
      region: IL
      postal_code: "60606"
      country: US
  voice:
    tone: [clear, confident, helpful, precise]
    do:
      - Lead with the finance team's problem, then the feature that solves it
      - Quote numbers only from the claims library
      - Write for a controller with ten minutes, not a developer
    dont:
      - Give tax or legal advice
      - Disparage other accounting tools by name
      - Promise outcomes that depend on the customer's own books
    reading_level_max: 10
    max_exclamation_marks: 0
  banned_terms:
    - guaranteed
    - risk-free
    - miracle
    - cure
    - audit-proof
    - zero errors
    - tax-free
  claims:
    - id: soc2-type2
      text: Ledgerly is audited every year against SOC 2 Type II.
      substantiation: AUDIT-SOC2-2026
    - id: close-faster
      text: Customers close their books 4 days faster on average after six months.
      substantiation: STUDY-2026-CLOSE-TIME
    - id: bank-connections
      text: Connects to more than 40 banks and payroll providers.
      substantiation: PRODUCT-INTEGRATIONS-2026-10
    - id: uptime
      text: 99.95% uptime over the last 12 months.
      substantiation: SLA-REPORT-2026-Q3
    - id: eu-hosting
      text: EU customer data stays in EU data centres.
      substantiation: DPA-2025-EU-HOSTING
      channels: [email, content, paid_search]
    - id: g2-leader
      text: Named a Leader in the G2 Fall 2026 report for mid-market accounting.
      substantiation: G2-FALL-2026
    - id: free-migration
      text: We migrate your data from your old accounting tool at no charge.
      substantiation: POL-MIGRATION-2026
  disclaimers:
    trial: No card needed. The trial ends after 30 days unless you choose a plan.
    annual_prepay: Billed annually in advance. Two months free compared with monthly billing.
    migration_credit: >-
      Credit applies to the first invoice of an annual plan. Not redeemable for cash.
    discount: Applies to new seats for 12 months. Renewals at the list price then in effect.
    event: Registration required. Sessions are recorded and shared with registrants.
    referral: Credit issued when the referred company pays its first invoice.

objective:
  primary_kpi: pipeline
  target: 6500000
  horizon_days: 90
  guardrails:
    - {kpi: cac, max: 2400}
    - {kpi: roas, min: 1.5}
    - {kpi: unsubscribe_rate, max: 0.003}
    - {kpi: complaint_rate, max: 0.0005}
    - {kpi: contacts_per_customer_week, max: 2}

budgets:
  email: {period: monthly, amount: 4000, max_change_pct: 30}
  sms: {period: monthly, amount: 600, max_change_pct: 30}
  paid_search: {period: monthly, amount: 60000, max_change_pct: 20}
  paid_social: {period: monthly, amount: 48000, max_change_pct: 20}
  display: {period: monthly, amount: 15000, max_change_pct: 25}
  content: {period: quarterly, amount: 96000}

channels:
  email: {connector: simulator, daily_capacity: 60000, cost_per_contact: 0.0011}
  sms:
    connector: simulator
    daily_capacity: 5000
    cost_per_contact: 0.0125
    quiet_hours: {start: "21:00", end: "08:00"}  # customer's local time; quote the times
  paid_search: {connector: simulator, daily_capacity: 8000, cost_per_contact: 4.40}
  paid_social: {connector: simulator, daily_capacity: 150000, cost_per_contact: 0.038}
  display: {connector: simulator, daily_capacity: 400000, cost_per_contact: 0.0045}
  content: {connector: simulator, daily_capacity: 3, cost_per_contact: 0}

segments:
  - id: enterprise_accounts
    name: Larger companies
    description: Companies with more than 200 employees.
    rule: {field: company_size, in: ["201-1000", "1000+"]}
  - id: new_signups
    name: New sign-ups
    description: Accounts created in the last 30 days.
    rule: {field: tenure_days, lte: 30}
  - id: high_intent_leads
    name: High-intent leads
    description: Free or trial accounts with a lead score of 70 or more.
    rule:
      all:
        - {field: plan, in: [free, trial]}
        - {field: lead_score, gte: 70}
  - id: dormant_users
    name: Dormant users
    description: No login for 30 days or more.
    rule:
      all:
        - {field: days_since_last_login, gte: 30}
        - {field: suppressed, eq: false}
  - id: expansion_ready
    name: Ready to add seats
    description: Paying teams using 90% or more of their seats.
    rule:
      all:
        - {field: plan, in: [team, business]}
        - {field: seat_utilization, gte: 0.9}
  - id: accounting_firms
    name: Accounting firms
    rule: {field: industry, eq: accounting_services}
  - id: eu_email_optin
    name: EU contacts with email consent
    rule:
      all:
        - {field: region, eq: EU}
        - {field: consent.email, eq: granted}
  - id: sms_opted_in
    name: SMS opted in
    rule:
      all:
        - {field: consent.sms, eq: granted}
        - {field: suppressed, eq: false}
  - id: payment_hardship
    name: Accounts on a hardship plan
    description: Financial hardship; no upsell without legal approval.
    sensitive: true
    rule: {field: billing_status, eq: hardship_plan}

agents:
  content: {enabled: true}
  advertising: {enabled: true}
  crm: {enabled: true}
  research: {enabled: true}
  analytics: {enabled: true}

autonomy:
  default: approve
  rules:
    - {kind: insight, mode: auto}
    - {kind: adjust_bid, risk: low, mode: auto}
    - {kind: adjust_bid, risk: medium, mode: notify}
    - {kind: send_message, risk: low, mode: notify}
    - {kind: publish_content, risk: low, mode: notify}
    - {kind: launch_experiment, mode: approve}
    - {kind: set_budget, mode: approve}
    - {kind: create_segment, risk: low, mode: notify}
    - {kind: change_policy, mode: forbid}
    - {kind: change_autonomy, mode: forbid}

campaigns:
  - id: year-end-close-2026
    name: Year-end close 2026
    status: active
    segments: [high_intent_leads, accounting_firms]
    channels: [email, paid_social, content]
    start: 2026-11-02
    end: 2026-12-31
    offer: year-end-close-workshop
    budget: 60000
  - id: seat-expansion-q1-2027
    name: Seat expansion Q1 2027
    status: draft
    segments: [expansion_ready]
    channels: [email]
    start: 2027-01-05
    end: 2027-03-31
    offer: annual-prepay
"""

B2B_OFFERS = """\
offers:
  - id: extended-trial
    name: 30-day trial with onboarding call
    type: trial
    margin: 0.78
    average_order_value: 2600
    eligible_segments: [new_signups, high_intent_leads]
    channels: [email, paid_search, paid_social]
  - id: annual-prepay
    name: Two months free on annual billing
    type: annual_prepay
    margin: 0.74
    average_order_value: 5400
    discount_pct: 16.7
    eligible_segments: [expansion_ready]
  - id: migration-credit
    name: $1,000 migration credit
    type: migration_credit
    margin: 0.70
    average_order_value: 9600
    eligible_segments: [enterprise_accounts, high_intent_leads]
  - id: seat-expansion-20
    name: 20% off added seats for a year
    type: discount
    margin: 0.71
    average_order_value: 3600
    discount_pct: 20
    eligible_segments: [expansion_ready]
    channels: [email]
  - id: year-end-close-workshop
    name: Year-end close workshop (live webinar)
    type: event
    margin: 0.80
    average_order_value: 3200
    valid_from: 2026-11-02
    valid_until: 2026-12-18
    channels: [email, paid_social, content]
  - id: referral-credit
    name: One month free for every company you refer
    type: referral
    margin: 0.66
    average_order_value: 2800
    eligible_segments: [accounting_firms]
"""

B2B_BRAND_SAFETY = """\
pack: brand-safety
rules:
  - id: banned-terms
    description: Copy may not use a banned term from the brand book.
    applies_to: [send_message, publish_content]
    when: 'context.brand.banned_terms.exists(t, action.content.body.contains(t))'
    effect: deny
    message: The copy uses a banned term; rewrite it without the term.
  - id: unapproved-claims
    description: Every claim must come from the claims library.
    applies_to: [send_message, publish_content]
    when: 'action.content.claims.exists(c, !(c in context.approved_claims))'
    effect: deny
    message: The copy relies on a claim legal has not substantiated.
  - id: tax-advice
    description: Copy that reads like tax advice is checked by legal.
    applies_to: [send_message, publish_content]
    when: 'action.content.body.matches("(?i)tax (advice|deduction|refund)")'
    effect: {approve: {roles: [legal]}}
    message: The copy may read as tax advice; legal must approve it.
  - id: competitor-names
    description: Naming a competitor in paid media is reviewed by brand.
    applies_to: [publish_content]
    when: >-
      action.channel in ["paid_search", "paid_social", "display"]
      && action.content.body.matches("(?i)quickbooks|xero|sage")
    effect: {approve: {roles: [brand]}}
    message: Paid copy names a competitor; brand must review it.
"""

B2B_BUDGET_COMPLIANCE = """\
pack: budget-compliance
rules:
  - id: budget-increase
    description: Raising a channel budget by more than 20% needs the budget owner.
    applies_to: [set_budget]
    when: 'action.spend.amount > context.budgets[action.channel].amount * 1.2'
    effect: {approve: {roles: [budget_owner]}}
    message: This raises the channel budget by more than 20%.
  - id: large-paid-social-spend
    description: One paid social action above $5,000 needs the budget owner and a strategist.
    applies_to: [set_budget, adjust_bid, publish_content]
    when: 'action.channel == "paid_social" && action.spend.amount > 5000'
    effect: {approve: {roles: [budget_owner, strategist], quorum: 2}}
    message: This paid social spend is above $5,000.
  - id: hardship-upsell
    description: No upsell to accounts on a hardship plan.
    applies_to: [send_message]
    when: 'action.audience.segment_id == "payment_hardship" && has(action.content.offer_id)'
    effect: deny
    message: Accounts on a hardship plan do not receive offers.
  - id: consent-required
    description: Addressed messages only reach contacts with granted consent.
    applies_to: [send_message]
    when: 'action.channel in ["email", "sms"] && action.audience.without_consent > 0'
    effect: deny
    message: Part of the audience has not granted consent for this channel.
  - id: eu-legitimate-interest
    description: EU email on legitimate interest alone is allowed but flagged.
    applies_to: [send_message]
    when: 'action.channel == "email" && action.audience.eu_legitimate_interest > 0'
    effect: warn
    message: Some EU recipients are reached on legitimate interest; include a one-click opt-out.
"""

B2B_WEEKLY = """\
name: weekly-pipeline
description: Every Monday, all five agents plan the week toward qualified pipeline.
agents: [research, analytics, advertising, content, crm]
cadence: "0 8 * * 1"
objective: pipeline
autonomy_overrides:
  adjust_bid: notify
measurement_window_days: 14
experiments:
  holdout: 0.1
"""

B2B_EXPANSION = """\
name: account-expansion
description: Every Wednesday, grow paying accounts and wake up dormant users.
agents: [crm, content, analytics]
cadence: "0 10 * * 3"
objective: retention
autonomy_overrides:
  send_message: approve
measurement_window_days: 28
experiments:
  holdout: 0.2
"""

BRANDS: Mapping[str, BrandFiles] = {
    "retail": BrandFiles(
        config=RETAIL_CONFIG,
        offers=RETAIL_OFFERS,
        policies={
            "brand-safety.yaml": RETAIL_BRAND_SAFETY,
            "budget-compliance.yaml": RETAIL_BUDGET_COMPLIANCE,
        },
        playbooks={
            "weekly-growth.yaml": RETAIL_WEEKLY,
            "winback-retention.yaml": RETAIL_RETENTION,
        },
    ),
    "b2b": BrandFiles(
        config=B2B_CONFIG,
        offers=B2B_OFFERS,
        policies={
            "brand-safety.yaml": B2B_BRAND_SAFETY,
            "budget-compliance.yaml": B2B_BUDGET_COMPLIANCE,
        },
        playbooks={
            "weekly-pipeline.yaml": B2B_WEEKLY,
            "account-expansion.yaml": B2B_EXPANSION,
        },
    ),
}
