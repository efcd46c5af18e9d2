// Deterministic generator for the offline demo data set `samples/sentiment_analysis.json`.
//
// Every conversation comes from a hand-written scenario (below) whose text has
// placeholders such as {handle}, {cust}, {name}, {ref}, {amount}. A seeded PRNG picks the
// scenario, brand, customer, wording variants, optional closing turns, start time
// and reply latencies, so re-running this script always produces byte-identical output.
//
//   node samples/generate.ts            (Node >= 22.18 / 24 with type stripping)
//
// Output: MongoDB Extended JSON (`_id` as {"$oid": ...}) — an array sorted by `_id`,
// importable with `mongoimport --jsonArray --collection sentiment_analysis`.

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

type Sector =
  | "airline"
  | "telecom"
  | "bank"
  | "streaming"
  | "shop"
  | "ride"
  | "console"
  | "utility"
  | "courier";

type Outcome =
  | "resolved_first_reply"
  | "resolved_multi_turn"
  | "escalated"
  | "unresolved_angry"
  | "agent_rude"
  | "agent_generic"
  | "customer_gave_up"
  | "praise_acknowledged";

type Sentiment = "Positive" | "Negative" | "Neutral" | "Mixed";
type Lang = "en" | "es" | "de" | "fr" | "mixed";

/** now: 0.3–3 min, q: 1–15 min, m: 8–120 min, s: 2.5–9 h, d: 15–28 h */
type Delay = "now" | "q" | "m" | "s" | "d";

type Text = string | readonly string[];

interface Turn {
  readonly who: "C" | "A";
  readonly text: Text;
  readonly delay: Delay;
  readonly opt: boolean;
}

type IntentKey = keyof typeof INTENTS;

interface Scenario {
  readonly id: string;
  readonly sectors: readonly Sector[] | "any";
  readonly intent: IntentKey;
  readonly outcome: Outcome;
  /** sentiment of the customer's opening message -> conversation.classification.sentiment */
  readonly open: Sentiment;
  /** sentiment of the whole exchange -> sentiment_analysis.overall_sentiment */
  readonly overall: Sentiment;
  readonly lang?: Lang;
  /** override for sentiment_analysis.topic */
  readonly saTopic?: string;
  readonly turns: readonly Turn[];
}

interface Brand {
  readonly name: string; // used in text, e.g. "Nimbus"
  readonly display: string; // e.g. "Nimbus Mobile"
  readonly handle: string;
  readonly sector: Sector;
  readonly sig: "caret" | "dash";
  /** multiplier on agent reply latency */
  readonly speed: number;
  readonly currency: "$" | "£" | "€";
  readonly phone: string;
  readonly app: string;
  readonly sub: string;
  readonly thing: string;
  readonly status: string;
  readonly ref: (r: Rng) => string;
}

// ---------------------------------------------------------------------------
// Seeded PRNG (mulberry32)
// ---------------------------------------------------------------------------

interface Rng {
  (): number;
}

function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T,>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const chance = (r: Rng, p: number): boolean => r() < p;
function shuffle<T>(r: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
const ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const chars = (r: Rng, alphabet: string, n: number): string =>
  Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join("");
const digits = (r: Rng, n: number): string => chars(r, "0123456789", n);

// ---------------------------------------------------------------------------
// Labels: intent key -> classification + sentiment_analysis labels
// ---------------------------------------------------------------------------

const INTENTS = {
  billing_dispute: { categorization: "Billing", intent: "Billing Dispute", topic: "Billing", saIntent: "Complaint", saTopic: "Billing" },
  billing_inquiry: { categorization: "Billing", intent: "Billing Inquiry", topic: "Billing", saIntent: "Information Request", saTopic: "Billing" },
  refund: { categorization: "Billing", intent: "Refund Request", topic: "Billing", saIntent: "Refund Request", saTopic: "Refund" },
  payment_issue: { categorization: "Billing", intent: "Payment Issue", topic: "Billing", saIntent: "Complaint", saTopic: "Payment" },
  fraud_report: { categorization: "Billing", intent: "Fraud Report", topic: "Billing", saIntent: "Support Request", saTopic: "Fraud" },
  price_complaint: { categorization: "Billing", intent: "Pricing Complaint", topic: "Billing", saIntent: "Complaint", saTopic: "Pricing" },
  delivery_delay: { categorization: "Logistics", intent: "Delivery Inquiry", topic: "Delivery", saIntent: "Complaint", saTopic: "Delivery" },
  missing_parcel: { categorization: "Logistics", intent: "Missing Delivery", topic: "Delivery", saIntent: "Complaint", saTopic: "Delivery" },
  order_issue: { categorization: "Logistics", intent: "Order Issue", topic: "Delivery", saIntent: "Complaint", saTopic: "Order" },
  redelivery: { categorization: "Logistics", intent: "Redelivery Request", topic: "Delivery", saIntent: "Support Request", saTopic: "Delivery" },
  account_locked: { categorization: "Technical Support", intent: "Account Support", topic: "Technical", saIntent: "Support Request", saTopic: "Account" },
  account_hacked: { categorization: "Account Management", intent: "Account Security", topic: "Account", saIntent: "Support Request", saTopic: "Security" },
  account_inquiry: { categorization: "Account Management", intent: "Account Update", topic: "Account", saIntent: "Information Request", saTopic: "Account" },
  password_reset: { categorization: "Technical Support", intent: "Password Reset", topic: "Technical", saIntent: "Support Request", saTopic: "Password" },
  outage: { categorization: "Technical Support", intent: "Outage Report", topic: "Technical", saIntent: "Support Request", saTopic: "Outage" },
  network_issue: { categorization: "Technical Support", intent: "Network Issue", topic: "Technical", saIntent: "Complaint", saTopic: "Network" },
  app_crash: { categorization: "Technical Support", intent: "App Issue", topic: "Technical", saIntent: "Support Request", saTopic: "App" },
  hardware_fault: { categorization: "Technical Support", intent: "Hardware Fault", topic: "Technical", saIntent: "Support Request", saTopic: "Device" },
  cancellation: { categorization: "Account Management", intent: "Cancellation", topic: "Account", saIntent: "Cancellation Request", saTopic: "Subscription" },
  plan_upgrade: { categorization: "Sales", intent: "Plan Upgrade", topic: "Product", saIntent: "Upgrade Request", saTopic: "Plan" },
  baggage_lost: { categorization: "Customer Service", intent: "Lost Baggage", topic: "Travel", saIntent: "Complaint", saTopic: "Baggage" },
  flight_disruption: { categorization: "Customer Service", intent: "Flight Disruption", topic: "Travel", saIntent: "Support Request", saTopic: "Flight" },
  lost_item: { categorization: "Customer Service", intent: "Lost Item", topic: "Service Quality", saIntent: "Support Request", saTopic: "Lost Item" },
  staff_complaint: { categorization: "Customer Service", intent: "Staff Complaint", topic: "Service Quality", saIntent: "Complaint", saTopic: "Staff" },
  service_complaint: { categorization: "Customer Service", intent: "Service Complaint", topic: "Service Quality", saIntent: "Complaint", saTopic: "Customer Service" },
  praise: { categorization: "Feedback", intent: "Praise", topic: "Service Quality", saIntent: "Praise", saTopic: "Service" },
} as const;

// ---------------------------------------------------------------------------
// Brands (all fictional)
// ---------------------------------------------------------------------------

const BRANDS: readonly Brand[] = [
  {
    name: "SkylarkAir", display: "SkylarkAir", handle: "SkylarkAirHelp", sector: "airline", sig: "caret", speed: 0.8,
    currency: "€", phone: "+353 1 555 0110", app: "the SkylarkAir app", sub: "SkyPlus membership", thing: "ticket",
    status: "@SkylarkAirNews", ref: (r) => chars(r, ALNUM, 6),
  },
  {
    name: "Nimbus", display: "Nimbus Mobile", handle: "NimbusHelp", sector: "telecom", sig: "caret", speed: 0.6,
    currency: "£", phone: "0800 555 0150", app: "the My Nimbus app", sub: "Nimbus Home Broadband", thing: "last bill",
    status: "@NimbusNetwork", ref: (r) => `NM${digits(r, 8)}`,
  },
  {
    name: "Harborline", display: "Harborline Bank", handle: "AskHarborline", sector: "bank", sig: "dash", speed: 1.0,
    currency: "£", phone: "0345 555 0199", app: "the Harborline app", sub: "Harborline Premier account", thing: "overdraft fee",
    status: "@HarborlineBank", ref: (r) => `CASE-${digits(r, 6)}`,
  },
  {
    name: "ReelHaven", display: "ReelHaven", handle: "ReelHavenCares", sector: "streaming", sig: "caret", speed: 1.1,
    currency: "$", phone: "1-800-555-0163", app: "the ReelHaven app", sub: "ReelHaven Premium subscription", thing: "subscription fee",
    status: "@ReelHavenStatus", ref: (r) => `#${digits(r, 8)}`,
  },
  {
    name: "Cartwell", display: "Cartwell", handle: "CartwellHelp", sector: "shop", sig: "caret", speed: 1.4,
    currency: "£", phone: "0330 555 0177", app: "the Cartwell app", sub: "Cartwell Plus", thing: "order",
    status: "@Cartwell", ref: (r) => `#CW${digits(r, 7)}`,
  },
  {
    name: "Zipp", display: "Zipp", handle: "ZippSupport", sector: "ride", sig: "dash", speed: 0.9,
    currency: "$", phone: "1-888-555-0120", app: "the Zipp app", sub: "Zipp One membership", thing: "fare",
    status: "@ZippStatus", ref: (r) => `ZR-${chars(r, ALNUM, 8)}`,
  },
  {
    name: "Orbix", display: "Orbix", handle: "OrbixSupport", sector: "console", sig: "caret", speed: 1.2,
    currency: "$", phone: "1-877-555-0134", app: "the Orbix app", sub: "Orbix Online+ membership", thing: "purchase",
    status: "@OrbixStatus", ref: (r) => `ORB-${digits(r, 7)}`,
  },
  {
    name: "Brightwater", display: "Brightwater Energy", handle: "BrightwaterHelp", sector: "utility", sig: "dash", speed: 1.3,
    currency: "£", phone: "0800 555 0188", app: "the Brightwater app", sub: "Brightwater HomeCover plan", thing: "overpayment",
    status: "@BrightwaterPower", ref: (r) => `BW${digits(r, 9)}`,
  },
  {
    name: "Quillpost", display: "Quillpost", handle: "QuillpostHelp", sector: "courier", sig: "caret", speed: 1.8,
    currency: "£", phone: "0344 555 0126", app: "the Quillpost app", sub: "Quillpost Premium", thing: "delivery fee",
    status: "@QuillpostNews", ref: (r) => `QP${digits(r, 10)}GB`,
  },
];

// ---------------------------------------------------------------------------
// Scenario helpers
// ---------------------------------------------------------------------------

const c = (text: Text, delay: Delay = "q"): Turn => ({ who: "C", text, delay, opt: false });
const a = (text: Text, delay: Delay = "m"): Turn => ({ who: "A", text, delay, opt: false });
const opt = (t: Turn): Turn => ({ ...t, opt: true });

// ---------------------------------------------------------------------------
// Hand-written scenarios
// ---------------------------------------------------------------------------

const SCENARIOS: readonly Scenario[] = [
  // ===================== Airline =====================
  {
    id: "air_bag_escalated", sectors: ["airline"], intent: "baggage_lost", outcome: "escalated", open: "Negative", overall: "Mixed",
    turns: [
      c([
        "@{handle} landed in {cityB} on {flight} 3 hours ago and my bag is nowhere. Baggage desk has a queue of 60 people and one person working. Great start to the trip",
        "@{handle} my suitcase didn't arrive on {flight} from {cityA}. been at the carousel for over an hour and the desk is closed?? what am i supposed to do",
      ]),
      a("@{cust} {hi}I'm so sorry your bag didn't make it. Did you manage to file a report at the airport? If you DM us the file reference and your booking code we'll take a look. {link} {sig}"),
      c("@{handle} finally got to the desk, ref is in your DMs. They said 'maybe tomorrow'. I have a wedding on Saturday and the suit is in that bag", "m"),
      a("@{cust} Thanks{nm}, got it. I've passed this to our baggage recovery team who handle traces directly – they'll contact you by phone within 24 hours. Keep receipts for essentials, you can claim them back. {sig}"),
      c(["@{handle} ok. I'll hold you to that", "@{handle} fine. fingers crossed 🤞"]),
    ],
  },
  {
    id: "air_bag_unresolved", sectors: ["airline"], intent: "baggage_lost", outcome: "unresolved_angry", open: "Negative", overall: "Negative",
    turns: [
      c([
        "@{handle} Day 4 without my suitcase. File ref {ref}. Nobody answers the baggage line, it just rings out.",
        "@{handle} 4 days. no bag. file {ref}. your baggage number rings out every single time. is anyone working there",
      ]),
      a("@{cust} Sorry for the wait. Please use the online tracker here: {link} {sig}", "s"),
      c("@{handle} the tracker has said 'tracing in progress' since Monday. That's why I'm tweeting you"),
      a("@{cust} I understand. Our baggage team is working through a high volume of cases at the moment. {sig}"),
      c("@{handle} so what does that mean for me?? I've bought clothes twice now"),
      c("@{handle} hello?", "m"),
      a("@{cust} You can submit receipts for reasonable interim expenses via the claim form: {link2} {sig}", "s"),
      c("@{handle} I don't want a form, I want my bag. It has my meds in it. Can someone actually call me"),
      a("@{cust} We're unable to arrange callbacks via social media. Please keep checking the tracker."),
      c("@{handle} Unbelievable. Never flying {brand} again. 4 days, 3 calls, 0 answers 😡"),
    ],
  },
  {
    id: "air_refund_first", sectors: ["airline"], intent: "refund", outcome: "resolved_first_reply", open: "Neutral", overall: "Positive",
    turns: [
      c([
        "@{handle} my flight {flight} got cancelled and I picked refund instead of rebooking. How long does it take? Booking {ref}",
        "@{handle} hi, requested a refund for cancelled flight {flight} last week (booking {ref}), any update? thanks",
      ]),
      a("@{cust} {hi}Sorry about the cancellation. I can see the refund of {amount} was processed this morning, it should show on your card in 5-7 working days. {sig}"),
      c(["@{handle} oh perfect, thanks for checking!", "@{handle} great, thank you 🙂"]),
    ],
  },
  {
    id: "air_delay_generic", sectors: ["airline"], intent: "flight_disruption", outcome: "agent_generic", open: "Negative", overall: "Negative",
    turns: [
      c([
        "@{handle} {flight} delayed 5 hours and now we miss our connection in {cityB}. Who is paying for the hotel??",
        "@{handle} {flight} delayed AGAIN, now 4h30. we have a connection in {cityB} we will 100% miss. what are our options",
      ]),
      a("@{cust} We apologise for any inconvenience caused. For information about disruption and your rights please visit {link}"),
      c("@{handle} I've read that page. It doesn't say anything about missed connections on separate tickets. Can you answer the question"),
      a("@{cust} We apologise for any inconvenience caused. For information about disruption and your rights please visit {link}"),
      c(["@{handle} are you a bot", "@{handle} copy and paste. wow."]),
    ],
  },
  {
    id: "air_crew_praise", sectors: ["airline"], intent: "praise", outcome: "praise_acknowledged", open: "Positive", overall: "Positive", saTopic: "Staff",
    turns: [
      c([
        "@{handle} shout out to the crew on {flight} from {cityA} today 👏 my daughter was terrified of flying and the flight attendant (Maya I think?) sat with her during takeoff. Made our whole trip",
        "@{handle} huge thanks to the cabin crew on {flight} – my son has autism and they let us board first and checked on him the whole way. Maya you're a star ⭐",
      ]),
      a("@{cust} {hi}This made our day! 💙 We'll make sure Maya and the crew hear about this. Enjoy your trip! {sig}"),
      opt(c("@{handle} 🥰")),
    ],
  },
  {
    id: "air_gate_rude", sectors: ["airline"], intent: "staff_complaint", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} the gate agent at {cityA} gate B12 just yelled at an elderly man for not understanding the boarding groups. Completely unacceptable, whole queue saw it"),
      a("@{cust} Our staff follow boarding procedures to ensure an on-time departure.", "s"),
      c("@{handle} procedures include screaming at an 80 year old?"),
      a("@{cust} If you wish to make a formal complaint you can do so via our website."),
      c(["@{handle} wow. Not even a sorry. Noted.", "@{handle} not even an apology. says everything about {brand}"]),
    ],
  },
  {
    id: "air_es_bag", sectors: ["airline"], intent: "baggage_lost", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "es",
    turns: [
      c([
        "@{handle} hola, mi maleta no llegó en el vuelo {flight} desde {cityA}. Ya hice el reporte en el aeropuerto, ¿alguna novedad? ref {ref}",
        "@{handle} buenas! mi equipaje se perdió en el vuelo {flight} 😞 tengo la ref {ref}, me pueden decir algo??",
      ]),
      a("@{cust} ¡Hola{nm}! Lamentamos mucho lo ocurrido. ¿Nos puedes enviar por DM tu dirección y un teléfono de contacto? Así revisamos el estado. {sig}"),
      c("@{handle} listo, te mandé DM"),
      a("@{cust} ¡Buenas noticias! Tu maleta fue localizada en {cityB} y llega en el vuelo de esta noche. Te la entregamos en tu dirección mañana por la mañana. {sig}", "s"),
      c(["@{handle} mil gracias!! 🙏😊", "@{handle} qué alivio, muchas gracias!!"]),
    ],
  },
  {
    id: "air_app_checkin", sectors: ["airline"], intent: "app_crash", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} app crashes every time I try to check in. {device}, latest version. Flight is in 3 hours 😬",
        "@{handle} ur app keeps closing on the check in screen, tried 5 times. {device}. help, flying this afternoon",
      ]),
      a("@{cust} {hi}Let's get you sorted. Could you try logging out and back in? If that doesn't work, you can check in on the mobile site here: {link} {sig}", "q"),
      c("@{handle} logged out and in, still crashes on the passport screen"),
      a("@{cust} Thanks for trying that. It's a known issue on the passport scan step after the last update, our devs are on it. The mobile site works fine though, or the kiosks at the airport 👍 {sig}", "q"),
      c(["@{handle} mobile site worked, got my boarding pass. thx", "@{handle} done on the website. cheers"]),
    ],
  },
  {
    id: "air_rebook_long", sectors: ["airline"], intent: "flight_disruption", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c("@{handle} {flight} {cityA}-{cityB} just got cancelled and the app offers me a flight in 2 days. I have a job interview tomorrow morning. any options??"),
      a("@{cust} {hi}So sorry about this! Let me look at alternatives for you – can you DM me your booking ref? {sig}", "q"),
      c("@{handle} sent!", "now"),
      a("@{cust} (1/2) Thanks{nm}. There's a seat on our 19:40 via {cityC}, arriving 23:55. Or a partner flight at 21:15 direct, arriving 22:50, but it leaves from Terminal 1. {sig}", "q"),
      a("@{cust} (2/2) Both are at no extra cost. Which would you prefer? I can hold a seat for 20 min. {sig}", "now"),
      c("@{handle} direct one please!! can I get there in time from T3?", "now"),
      a("@{cust} It's a 15 min shuttle, you've got plenty of time 👍 Booking now… {sig}", "now"),
      a("@{cust} Done! New booking ref is in your DMs and check-in is open. Your bag will need to be re-checked at T1. {sig}", "q"),
      c("@{handle} got it. checked in. you're a star"),
      a("@{cust} Good luck with the interview tomorrow! 🍀 {sig}", "now"),
      opt(c("@{handle} got the job 😄 thanks again {brand}", "d")),
    ],
  },

  // ===================== Telecom =====================
  {
    id: "tel_outage_resolved", sectors: ["telecom"], intent: "outage", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} no signal at all in {area} since this morning, is there an outage? can't even call out",
        "@{handle} zero bars in {area} for like 4 hours now. anyone else? is the network down",
      ]),
      a("@{cust} {hi}Sorry about that! Could you DM me your postcode so I can check the network status for your area? {sig}", "q"),
      c("@{handle} sent"),
      a("@{cust} Thanks{nm}. There's a mast fault near you, engineers are on site and expect it back by 6pm. Wi-Fi calling will work meanwhile if you switch it on in settings. {sig}"),
      c(["@{handle} signal is back, thanks for the heads up", "@{handle} all working again 👍 ta"], "s"),
      opt(a("@{cust} Great to hear! {sig}", "q")),
    ],
  },
  {
    id: "tel_roaming_dispute", sectors: ["telecom"], intent: "billing_dispute", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} just got a bill for {amount} in roaming charges. I have the EU pass on my plan!! what is this",
        "@{handle} {amount} ROAMING?? I literally pay extra every month for the travel add-on. explain please",
      ]),
      a("@{cust} {hi}That's a big bill, let's look into it. Could you DM us your account number and the dates you were away? {sig}"),
      c("@{handle} done"),
      a("@{cust} Thanks. I can see you were connected to a ship network for part of the cruise, which isn't covered by the pass. As a one-off I've credited the full amount back, it'll show on the next bill. {sig}", "s"),
      c("@{handle} ahh I had no idea about ships. Thank you so much, that's really fair of you"),
    ],
  },
  {
    id: "tel_plan_upgrade", sectors: ["telecom"], intent: "plan_upgrade", outcome: "resolved_first_reply", open: "Neutral", overall: "Positive",
    turns: [
      c([
        "@{handle} can I upgrade to the {plan} plan mid contract or do I have to wait till renewal?",
        "@{handle} hi! thinking of moving to {plan}, is that possible halfway through my contract?",
      ]),
      a("@{cust} {hi}You can upgrade any time! Just go to My {brand} > Plan > Change plan, and the new allowance kicks in straight away. {link} {sig}"),
      opt(c(["@{handle} done, that was easy 👍", "@{handle} sorted, cheers!"])),
    ],
  },
  {
    id: "tel_cancel_escalated", sectors: ["telecom"], intent: "cancellation", outcome: "escalated", open: "Negative", overall: "Neutral",
    turns: [
      c("@{handle} I want to cancel my contract. Moving abroad next month. How do I do that without sitting on hold for an hour"),
      a("@{cust} {hi}Sorry to see you go! Cancellations need to go through our retentions team, they're on {phone}, Mon-Sat 8am-8pm. {sig}"),
      c("@{handle} there's no way to do it online?"),
      a("@{cust} Not for contract accounts, I'm afraid. If you DM me a good time, I can ask the team to call you instead so you don't have to wait. {sig}"),
      c("@{handle} ok, DMd. tomorrow after 5 works"),
    ],
  },
  {
    id: "tel_outage_generic", sectors: ["telecom"], intent: "outage", outcome: "agent_generic", open: "Negative", overall: "Negative",
    turns: [
      c([
        "@{handle} internet down AGAIN. 3rd time this week. working from home and this is costing me money",
        "@{handle} broadband dropped out again!!! every evening at 7pm like clockwork. sort it out",
      ]),
      a("@{cust} Sorry to hear this. Please try restarting your router and check all cables are connected."),
      c("@{handle} I've restarted it 10 times. The light is red. It's your side."),
      a("@{cust} Sorry to hear this. Please try restarting your router and check all cables are connected. If the issue continues, please call 150."),
      c(["@{handle} 🤦‍♂️", "@{handle} unreal"]),
    ],
  },
  {
    id: "tel_de_outage", sectors: ["telecom"], intent: "outage", outcome: "escalated", open: "Negative", overall: "Mixed", lang: "de",
    turns: [
      c([
        "@{handle} seit gestern Abend kein Internet mehr in {city}. Router blinkt rot. Was ist los??",
        "@{handle} Internet ist wieder komplett weg, Router blinkt rot 😤 Gibt es eine Störung in {city}?",
      ]),
      a("@{cust} Hallo{nm}, das tut uns leid! Schick uns bitte per DM deine Kundennummer, dann prüfen wir die Leitung. {sig}"),
      c("@{handle} DM ist raus"),
      a("@{cust} Danke! Die Leitung zeigt einen Fehler in der Vermittlungsstelle. Ich habe ein Technikerticket eröffnet, ein Techniker meldet sich innerhalb von 48 Std. bei dir. {sig}"),
      c("@{handle} 48 Stunden?! Ich arbeite im Homeoffice... naja, danke trotzdem"),
    ],
  },
  {
    id: "tel_account_locked", sectors: ["telecom"], intent: "account_locked", outcome: "resolved_first_reply", open: "Negative", overall: "Positive",
    turns: [
      c("@{handle} locked out of My {brand} after too many password attempts, says try again in 24h?? I need to pay my bill today"),
      a("@{cust} {hi}No need to wait! I've unlocked it from our side, you can reset your password here: {link} – you can also pay by text, just send PAY to 2020. {sig}", "q"),
      c(["@{handle} legend, worked 🙌", "@{handle} that worked, thanks!"]),
    ],
  },
  {
    id: "tel_coverage_rude", sectors: ["telecom"], intent: "network_issue", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c([
        "@{handle} paying for 5G and getting 1 bar of 3G in the middle of {city}. what's the point",
        "@{handle} why am I paying for 5G when I get no signal in a city centre park in {city}",
      ]),
      a("@{cust} Coverage can vary depending on location and building materials. Check our coverage map."),
      c("@{handle} it's a park. there are no building materials"),
      a("@{cust} As mentioned, please refer to the coverage map.", "s"),
    ],
  },
  {
    id: "tel_etf_unresolved", sectors: ["telecom"], intent: "billing_dispute", outcome: "unresolved_angry", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} you charged me a {amount} early termination fee even though I left because you raised prices mid-contract. That's supposed to be penalty free"),
      a("@{cust} Hi, early termination fees apply as per your contract terms. {sig}"),
      c("@{handle} your own terms say price rises over inflation let you exit free. clause 8.3. read it"),
      a("@{cust} I've checked with the team and the fee stands. You can raise a formal complaint here: {link} {sig}", "s"),
      c("@{handle} raised it 3 weeks ago. no response. that's why I'm here"),
      a("@{cust} Complaints are responded to within 8 weeks. {sig}"),
      c("@{handle} 8 weeks to admit you're wrong. fine, going to the ombudsman"),
    ],
  },

  // ===================== Bank =====================
  {
    id: "bank_card_blocked", sectors: ["bank"], intent: "account_locked", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} my card got declined at a restaurant in {city} and now the app says my account is restricted. I'm abroad with no other card. Please help",
        "@{handle} card declined twice in {city} and the app says 'account restricted'?? im on holiday and this is my only card 😰",
      ]),
      a("@{cust} {hi}Sorry you're stuck! We've put a temporary block after an unusual transaction. Please don't share card details here, but can you DM us your full name and the last 4 digits of your card? {sig}", "q"),
      c("@{handle} sent. the transaction was me, dinner lol"),
      a("@{cust} Thanks{nm}, I've verified you through DM and lifted the block. You should be good to go now – you can add travel dates in the app to avoid this next time. {sig}", "q"),
      c("@{handle} it worked, paid the bill. thank you, genuinely panicked there"),
      opt(a("@{cust} Glad we could help! Enjoy the rest of your trip 🌍 {sig}", "q")),
    ],
  },
  {
    id: "bank_app_generic", sectors: ["bank"], intent: "app_crash", outcome: "agent_generic", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} the new app update won't let me log in. Fingerprint fails, then password fails, then it crashes. {device}"),
      a("@{cust} We're sorry to hear you're having trouble. Please make sure you're using the latest version of the app and try again."),
      c("@{handle} I AM on the latest version, that's the problem, it broke with the update"),
      a("@{cust} We're sorry to hear you're having trouble. Please try uninstalling and reinstalling the app. If the problem continues, contact us on {phone}.", "s"),
      c("@{handle} reinstalled, now I have to re-register with a code sent by POST. 5 days. Brilliant"),
    ],
  },
  {
    id: "bank_fraud_escalated", sectors: ["bank"], intent: "fraud_report", outcome: "escalated", open: "Negative", overall: "Neutral",
    turns: [
      c([
        "@{handle} there's a payment of {amount} to some online store I've never heard of on my account. I didn't make it!!",
        "@{handle} just saw {amount} leave my account to a company I've never used. help?? is this fraud",
      ]),
      a("@{cust} {hi}Please don't worry, we'll help. Don't share any account details publicly. Please call our fraud team 24/7 on {phone} – they can block the card and start a dispute straight away. {sig}", "q"),
      c("@{handle} calling now"),
      c("@{handle} done, card cancelled and dispute open. they said 10 working days for a decision", "m"),
      a("@{cust} Thanks for letting us know{nm}. The fraud team will keep you updated – your new card should arrive in 3-5 days. {sig}"),
    ],
  },
  {
    id: "bank_pw_gave_up", sectors: ["bank"], intent: "password_reset", outcome: "customer_gave_up", open: "Neutral", overall: "Negative",
    turns: [
      c("@{handle} trying to reset my online banking password but the reset email never arrives. checked spam. any ideas?"),
      a("@{cust} Hi, please check that the email address on your account is up to date. {sig}", "s"),
      c("@{handle} it's the same email you send my statements to so yes"),
      c("@{handle} anyone?", "s"),
      c(["@{handle} forget it, went into a branch. took 2 hours but done. your online support is useless",
        "@{handle} never mind. sorted it in branch. would've been nice to get an answer here"], "d"),
    ],
  },
  {
    id: "bank_branch_rude", sectors: ["bank"], intent: "staff_complaint", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} was made to feel like a criminal at your {city} branch today for depositing cash from my own business. manager was condescending and loud"),
      a("@{cust} We are required by law to ask questions about cash deposits.", "s"),
      c("@{handle} I understand the questions. I'm complaining about how I was spoken to"),
      a("@{cust} Noted."),
      c("@{handle} 'Noted.' Says it all really. Moving my accounts."),
    ],
  },
  {
    id: "bank_fr_card", sectors: ["bank"], intent: "account_locked", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "fr",
    turns: [
      c([
        "@{handle} bonjour, ma carte est bloquée depuis ce matin, impossible de payer mes courses. Vous pouvez m'aider ?",
        "@{handle} bjr, carte refusée partout depuis ce matin 😩 qu'est-ce qui se passe ??",
      ]),
      a("@{cust} Bonjour{nm}, désolés pour ce désagrément ! Pouvez-vous nous écrire en DM avec votre nom et les 4 derniers chiffres de la carte ? {sig}"),
      c("@{handle} c'est fait"),
      a("@{cust} Merci ! Votre carte avait été bloquée après 3 codes PIN erronés. Elle est débloquée, il suffit de faire un retrait avec le bon code. {sig}"),
      c("@{handle} ça marche, merci beaucoup 😊"),
    ],
  },
  {
    id: "bank_praise", sectors: ["bank"], intent: "praise", outcome: "praise_acknowledged", open: "Positive", overall: "Positive", saTopic: "Fraud",
    turns: [
      c([
        "@{handle} your fraud team called me within 5 minutes of a dodgy payment attempt last night and sorted everything. Honestly impressed, thank you",
        "@{handle} credit where it's due: fraud team spotted a scam payment before I did and had a new card to me in 2 days. 👏",
      ]),
      a("@{cust} {hi}Thanks so much for sharing this, we'll pass your kind words on to the team. Glad your account is safe! {sig}"),
    ],
  },
  {
    id: "bank_transfer_unresolved", sectors: ["bank"], intent: "payment_issue", outcome: "unresolved_angry", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} sent {amount} to my landlord on Friday, it left my account, never arrived. Rent is now late. Where is my money?"),
      a("@{cust} {hi}Sorry to hear this. Payments can take up to 2 working days to arrive in some cases. {sig}"),
      c("@{handle} it's Tuesday. that's 2 working days. and it was a Faster Payment"),
      a("@{cust} Please call us on {phone} so we can trace the payment. {sig}", "s"),
      c("@{handle} I did. 45 min on hold, then they told me to tweet you"),
      c("@{handle} so which is it", "q"),
      a("@{cust} Sorry for the confusion. Please call {phone} and select option 3 for payment traces. {sig}", "s"),
      c("@{handle} this is a joke. I'm getting a late fee because of you and nobody can tell me where {amount} is"),
    ],
  },

  // ===================== Streaming =====================
  {
    id: "str_double_charge", sectors: ["streaming"], intent: "billing_dispute", outcome: "resolved_first_reply", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} you've charged me twice this month?? {amount} x2 on my statement",
        "@{handle} why are there two {amount} charges from {brand} on my card this month",
      ]),
      a("@{cust} {hi}Sorry about that! I've checked your account and the second charge was a duplicate – I've refunded it just now, it'll be back on your card in 3-5 days. {sig}"),
      c(["@{handle} wow that was quick, thanks!", "@{handle} appreciate it 🙏"]),
    ],
  },
  {
    id: "str_tv_crash", sectors: ["streaming"], intent: "app_crash", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} app keeps crashing on my {tv} as soon as I press play. works on my phone fine",
        "@{handle} {brand} crashes on the {tv} every time i hit play 😤 phone and laptop are fine",
      ]),
      a("@{cust} {hi}Let's fix that. Could you unplug the TV for 60 seconds, then reopen the app? {sig}", "q"),
      c("@{handle} did that, still crashes"),
      a("@{cust} Thanks for trying. Next step: go to Settings > Apps > {brand} > Clear cache, then sign back in. {sig}", "q"),
      c("@{handle} that didnt work either 😩"),
      a("@{cust} Sorry{nm}! One more thing – there's a firmware update for your TV model that fixes a video decoder issue with our app. Settings > Support > Software update. {sig}"),
      c("@{handle} UPDATE WORKED!! finally can watch the finale lol. thanks for sticking with me", "m"),
      opt(a("@{cust} No spoilers from us 🤐 Enjoy! {sig}", "q")),
    ],
  },
  {
    id: "str_cancel_easy", sectors: ["streaming"], intent: "cancellation", outcome: "resolved_first_reply", open: "Neutral", overall: "Positive",
    turns: [
      c([
        "@{handle} how do I cancel? been looking in the app for 10 min and can't find it",
        "@{handle} where is the cancel button?? can't find it anywhere on the tv app",
      ]),
      a("@{cust} {hi}Sorry to see you go! Cancelling isn't available in the TV app, but you can do it on the web under Account > Membership > Cancel. {link} {sig}"),
      c("@{handle} found it, thanks. might be back when the new season drops"),
    ],
  },
  {
    id: "str_price_rude", sectors: ["streaming"], intent: "price_complaint", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c([
        "@{handle} third price increase in two years and the catalogue gets smaller every month. What am I paying for exactly",
        "@{handle} another price rise?? {amount} a month now and half the good stuff got removed",
      ]),
      a("@{cust} Our prices reflect continued investment in content. You can change or cancel your plan anytime.", "s"),
      c("@{handle} 'cancel anytime' is a lovely response to a loyal customer of 6 years 🙄"),
      opt(a("@{cust} Plans and pricing: {link}")),
    ],
  },
  {
    id: "str_outage_unresolved", sectors: ["streaming"], intent: "outage", outcome: "unresolved_angry", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} IS {brand} DOWN?? error code NW-2-5 in the middle of the finale"),
      c("@{handle} seriously, half my timeline is getting the same error", "now"),
      a("@{cust} Hi there, please try restarting your device and your router."),
      c("@{handle} it's not my router, it's your servers. literally everyone has the same error"),
      a("@{cust} We're not currently aware of any widespread issues. Please check our help centre: {link}"),
      c("@{handle} {link2} your own status page says 'degraded performance'. 🤡"),
      c("@{handle} still nothing. missed the ending and now got spoiled on here. thanks a lot", "s"),
    ],
  },
  {
    id: "str_hacked_escalated", sectors: ["streaming"], intent: "account_hacked", outcome: "escalated", open: "Negative", overall: "Mixed",
    turns: [
      c("@{handle} someone got into my account, changed the email and password. There's a new profile watching anime in Portuguese 😂 but seriously I can't log in"),
      a("@{cust} {hi}Oh no, sorry about that! Because the email was changed we'll need to verify you via our account security team. Please use this form with the card you pay with: {link} {sig}"),
      c("@{handle} submitted it. how long?"),
      a("@{cust} Usually within 24h – they'll email your original address. I've flagged it as priority. {sig}"),
      opt(c("@{handle} got the email, back in. changed everything + 2FA on now", "d")),
    ],
  },
  {
    id: "str_praise", sectors: ["streaming"], intent: "praise", outcome: "praise_acknowledged", open: "Positive", overall: "Positive", saTopic: "Product",
    turns: [
      c([
        "@{handle} the new download-for-offline feature is a lifesaver on the train. whoever built it, thank you 🙏",
        "@{handle} not me watching 3 episodes offline on a 9 hour flight thanks to downloads. best feature ever",
      ]),
      a("@{cust} {hi}We'll pass that on to the team, they'll be thrilled! Happy watching 🍿 {sig}"),
      opt(c("@{handle} now add a skip intro button on kids' shows pls 😂")),
    ],
  },
  {
    id: "str_upgrade_gave_up", sectors: ["streaming"], intent: "plan_upgrade", outcome: "customer_gave_up", open: "Neutral", overall: "Negative",
    turns: [
      c("@{handle} trying to upgrade to the 4K plan but the button just spins forever. tried 2 browsers"),
      a("@{cust} Hi there! Could you tell us what device you're using? {sig}", "s"),
      c("@{handle} laptop, chrome and firefox, windows 11"),
      c("@{handle} ...?", "d"),
      c("@{handle} never mind, cancelled instead. not worth the hassle", "d"),
    ],
  },

  // ===================== E-commerce =====================
  {
    id: "shop_delay_resolved", sectors: ["shop"], intent: "delivery_delay", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} order {ref} was supposed to arrive Tuesday, it's now Friday and tracking hasn't moved since it 'left the warehouse'",
        "@{handle} where's my order?? {ref}, due 3 days ago, tracking stuck on 'dispatched'",
      ]),
      a("@{cust} {hi}Sorry for the wait! Can you confirm the postcode on the order via DM so I can check with the courier? {sig}"),
      c("@{handle} sent"),
      a("@{cust} Thanks{nm}. Looks like the parcel was damaged in transit and never sent on 😞 I've sent a replacement by express, it'll arrive tomorrow, and refunded your delivery fee. {sig}"),
      c("@{handle} oh nice, thank you. appreciate it"),
      opt(c("@{handle} arrived this morning 👍", "d")),
    ],
  },
  {
    id: "shop_refund_unresolved", sectors: ["shop"], intent: "refund", outcome: "unresolved_angry", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} returned a {item} 3 weeks ago, you confirmed receipt, still no refund. {amount}. Order {ref}"),
      a("@{cust} Hi, refunds can take up to 14 working days after we receive the item.", "s"),
      c("@{handle} it has been 15 working days. I counted."),
      a("@{cust} Please DM us your order number and we'll check."),
      c("@{handle} it's in my first tweet but ok, sent it in DM as well"),
      a("@{cust} Thanks, I've raised this with our returns team. {sig}", "s"),
      c("@{handle} another week, nothing. raised with the returns team = ?", "d"),
      a("@{cust} We're sorry for the delay. The returns team is experiencing high volumes.", "s"),
      c("@{handle} that's not my problem. I paid {amount} for something you have back in your warehouse"),
      a("@{cust} I understand your frustration. I've chased this again."),
      c("@{handle} 'chased'. ok I'm doing a chargeback with my bank. done with this"),
      opt(c("@{handle} and for anyone reading: don't buy from {brand}, returns are a black hole", "now")),
    ],
  },
  {
    id: "shop_wrong_item", sectors: ["shop"], intent: "order_issue", outcome: "resolved_first_reply", open: "Mixed", overall: "Positive",
    turns: [
      c([
        "@{handle} ordered a {item} in blue and got a pink toaster 😂 order {ref}",
        "@{handle} lol so I ordered a {item} and received... a pink toaster. order {ref}",
      ]),
      a("@{cust} {hi}Well that's a surprise 😅 So sorry! I've arranged a free collection for the toaster and your {item} is on its way, arriving in 2 days. You'll get an email confirmation shortly. {sig}"),
      c(["@{handle} haha perfect, thanks!", "@{handle} brilliant, cheers 😄"]),
    ],
  },
  {
    id: "shop_gave_up", sectors: ["shop"], intent: "delivery_delay", outcome: "customer_gave_up", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} where is my order {ref}? ordered 10 days ago, still says 'processing'"),
      a("@{cust} Hi! Please allow 7-10 working days for processing during busy periods. Thanks for your patience!", "d"),
      c("@{handle} it's a birthday present for Saturday. can it be expedited?"),
      c("@{handle} ?", "s"),
      c(["@{handle} cancelled it and bought it somewhere else. don't bother", "@{handle} forget it. got it elsewhere"], "d"),
    ],
  },
  {
    id: "shop_es_mixed", sectors: ["shop"], intent: "missing_parcel", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "mixed",
    turns: [
      c("@{handle} hola, mi pedido {ref} dice entregado pero no tengo nada 😕 no sé si escribir en inglés o español, sorry"),
      a("@{cust} ¡Hola{nm}! Puedes escribirnos en español sin problema 😊 ¿Nos envías por DM tu dirección para revisarlo con la paquetería? {sig}"),
      c("@{handle} gracias, ya te mandé el DM"),
      a("@{cust} Gracias. El repartidor lo dejó en la conserjería de tu edificio. ¿Puedes revisar ahí? Si no aparece, te enviamos uno nuevo. {sig}"),
      c("@{handle} estaba en conserjería 🤦‍♀️ all good, thanks!!"),
    ],
  },
  {
    id: "shop_praise", sectors: ["shop"], intent: "praise", outcome: "praise_acknowledged", open: "Positive", overall: "Positive", saTopic: "Delivery",
    turns: [
      c([
        "@{handle} ordered at 11pm, arrived at 9am. how. thank you {brand} 😍",
        "@{handle} next day delivery that actually arrived next day?? 🤯 cheers {brand}",
      ]),
      a("@{cust} {hi}We like to keep things speedy 🚀 Enjoy your {item}! {sig}"),
    ],
  },
  {
    id: "shop_tracking_rude", sectors: ["shop"], intent: "delivery_delay", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} my parcel has been 'out for delivery' for three days in a row. is it actually coming"),
      a("@{cust} Please check the tracking link in your email."),
      c("@{handle} that's literally what I just told you. the tracking says out for delivery. for 3 days"),
      a("@{cust} We can't do anything until the courier updates the status.", "s"),
      c(["@{handle} cool so I just wait forever then. thanks for nothing", "@{handle} great help as always"]),
    ],
  },

  // ===================== Ride-hailing =====================
  {
    id: "ride_overcharge", sectors: ["ride"], intent: "billing_dispute", outcome: "resolved_first_reply", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} charged {amount} for a 10 min ride from {place}?? estimate was {amountLow}. driver took the longest possible route",
        "@{handle} upfront price {amountLow}, charged {amount}. the driver did a scenic tour of the whole city from {place} 🙄",
      ]),
      a("@{cust} {hi}Sorry about that, that's way above the estimate! I've adjusted the fare back to the upfront price and refunded the difference to your card. {sig}"),
      c(["@{handle} appreciate the quick fix 🙏", "@{handle} thanks, that was fast"]),
    ],
  },
  {
    id: "ride_safety_escalated", sectors: ["ride"], intent: "staff_complaint", outcome: "escalated", open: "Negative", overall: "Neutral", saTopic: "Safety",
    turns: [
      c("@{handle} my driver tonight was on his phone the whole ride and ran a red light. I asked him to stop and he laughed. I felt really unsafe"),
      a("@{cust} {hi}I'm really sorry, this is not OK and we take it very seriously. I've escalated it to our safety team – please DM us the trip date and time so they can investigate. {sig}", "q"),
      c("@{handle} DMd you the details"),
      a("@{cust} Thank you. The safety team has the report and will contact you by email within 24h. Driver access is paused while they investigate. {sig}"),
      opt(c("@{handle} thanks, that's all I wanted")),
    ],
  },
  {
    id: "ride_app_generic", sectors: ["ride"], intent: "app_crash", outcome: "agent_generic", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} app crashes at the payment screen every time, can't book a ride. {device}"),
      a("@{cust} Sorry for the trouble! Please try updating the app, clearing the cache and restarting your phone. {sig}"),
      c("@{handle} did all three. still crashes"),
      a("@{cust} Sorry for the trouble! Please try updating the app, clearing the cache and restarting your phone. If the issue persists, please contact us through the Help section in the app."),
      c("@{handle} the help section is in the app. the app that crashes. 🙃"),
    ],
  },
  {
    id: "ride_lost_item", sectors: ["ride"], intent: "lost_item", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} left my {lostitem} in a {brand} last night, pickup around midnight near {place}. is there any way to contact the driver?",
        "@{handle} pretty sure I left my {lostitem} in the back of my {brand} from {place} last night 😫 how do I get it back",
      ]),
      a("@{cust} {hi}Yes! Go to Your Trips > select the ride > 'I lost an item' and you'll be connected to the driver. {sig}"),
      c("@{handle} tried, it says the driver hasn't responded"),
      a("@{cust} Thanks for trying{nm}. I've reached out to the driver directly and they've found it! They'll drop it off today, you'll get a message to arrange a time. A small return fee applies. {sig}", "s"),
      c("@{handle} yesss thank you so much!! 🙌"),
    ],
  },
  {
    id: "ride_locked_gave_up", sectors: ["ride"], intent: "account_locked", outcome: "customer_gave_up", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} got a new phone number and now my account is locked because it can't verify me. I can't log in to contact support. how do i fix this"),
      a("@{cust} Hi there, please visit {link} to recover your account.", "s"),
      c("@{handle} that link asks me to log in. I can't log in. that's the problem"),
      c("@{handle} still locked out. still no reply", "d"),
      c("@{handle} made a new account. whatever", "d"),
    ],
  },
  {
    id: "ride_de_noshow", sectors: ["ride"], intent: "billing_dispute", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "de",
    turns: [
      c([
        "@{handle} Fahrer kam nie an, hat nach 10 Min storniert und mir wurde trotzdem eine Stornogebühr von {eur} berechnet. Das kann nicht sein",
        "@{handle} Wieso zahle ich {eur} Stornogebühr, wenn der Fahrer selbst storniert hat?? 😠",
      ]),
      a("@{cust} Hallo{nm}, das tut uns leid! Kannst du uns per DM die Fahrtdaten schicken? {sig}"),
      c("@{handle} habe ich gemacht"),
      a("@{cust} Danke! Laut GPS war der Fahrer nie in der Nähe. Die Gebühr habe ich erstattet, das Geld ist in 3-5 Werktagen wieder auf deinem Konto. {sig}"),
      c("@{handle} Super, danke für die schnelle Hilfe 👍"),
    ],
  },

  // ===================== Games console =====================
  {
    id: "con_no_power", sectors: ["console"], intent: "hardware_fault", outcome: "escalated", open: "Negative", overall: "Mixed",
    turns: [
      c([
        "@{handle} my {console} won't turn on. white light blinks 3 times then nothing. it's 8 months old",
        "@{handle} {console} just died?? 3 white blinks and then nothing. was fine last night",
      ]),
      a("@{cust} {hi}Sorry to hear that! Can you try holding the power button for 15 secs with the power cable unplugged, then plug back in and try again? {sig}"),
      c("@{handle} tried that. same 3 blinks"),
      a("@{cust} Thanks for trying{nm}. 3 blinks indicates a hardware fault, so we'll need to repair it under warranty. Please start a repair here: {link} and we'll send a prepaid box. {sig}"),
      c("@{handle} how long does repair take? 😢"),
      a("@{cust} Usually 7-10 days door to door. Sorry for the downtime! {sig}", "q"),
    ],
  },
  {
    id: "con_online_outage", sectors: ["console"], intent: "outage", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} can't connect to online, error E-1042. friends have the same. you guys down?",
        "@{handle} E-1042 when signing in. whole party can't get on. servers down??",
      ]),
      a("@{cust} {hi}Yes, we're seeing issues with sign-in right now. The team is on it – follow {status} for updates. {sig}", "q"),
      c("@{handle} any ETA? we had a raid planned 😭"),
      a("@{cust} No ETA yet, sorry! Should be soon. {sig}", "q"),
      c(["@{handle} its back!! 🎮", "@{handle} back online, cheers"], "s"),
      opt(a("@{cust} Good luck with the raid! {sig}", "q")),
    ],
  },
  {
    id: "con_hacked_escalated", sectors: ["console"], intent: "account_hacked", outcome: "escalated", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} my account got hacked, someone changed the email and bought {amount} of Orbix Credit with my card. Need help ASAP"),
      a("@{cust} {hi}I'm sorry this happened. Please contact your bank about the charges, and submit an account recovery request here: {link}. Our account security team will follow up by email. {sig}"),
      c("@{handle} submitted it yesterday, nothing yet", "d"),
      a("@{cust} These cases can take up to 5 business days due to the verification needed. I've added a note to your case. {sig}", "s"),
      c("@{handle} 5 days while someone else is playing on my account. great"),
    ],
  },
  {
    id: "con_refund_rude", sectors: ["console"], intent: "refund", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} bought a game by accident (kid pressed the button 🙄), never downloaded it. Can I get a refund? It was {amount}"),
      a("@{cust} Digital purchases are non-refundable as per the terms of service.", "s"),
      c("@{handle} it's not even downloaded, it was 5 minutes ago. other stores do this"),
      a("@{cust} Please review the terms of service. We recommend enabling purchase passwords."),
      c("@{handle} thanks, very helpful 👏👏"),
    ],
  },
  {
    id: "con_drift_generic", sectors: ["console"], intent: "hardware_fault", outcome: "agent_generic", open: "Negative", overall: "Negative", saTopic: "Controller",
    turns: [
      c([
        "@{handle} second controller with stick drift in a year. is this a known issue??",
        "@{handle} left stick drifting AGAIN. {console} controller is 6 months old. what's going on",
      ]),
      a("@{cust} We're sorry to hear that your controller isn't working as expected. Please visit {link} for troubleshooting steps."),
      c("@{handle} the troubleshooting is 'update the controller'. it's updated. it drifts"),
      a("@{cust} We're sorry to hear that your controller isn't working as expected. Please visit {link} for troubleshooting steps or to request a repair."),
      opt(c("@{handle} copy paste support 🙃")),
    ],
  },
  {
    id: "con_praise", sectors: ["console"], intent: "praise", outcome: "praise_acknowledged", open: "Positive", overall: "Positive", saTopic: "Repair",
    turns: [
      c("@{handle} just want to say your support team sorted my repair in 4 days and sent it back with a new controller. didn't expect that at all. 10/10"),
      a("@{cust} {hi}This is awesome to hear! Game on 🎮 {sig}"),
    ],
  },
  {
    id: "con_fr_sub", sectors: ["console"], intent: "billing_dispute", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "fr",
    turns: [
      c("@{handle} j'ai annulé mon abonnement Online+ le mois dernier et j'ai encore été prélevé de {eur} ce mois-ci. C'est normal ?"),
      a("@{cust} Bonjour{nm} ! Désolés pour ça. Pouvez-vous nous envoyer en DM l'adresse e-mail de votre compte ? {sig}"),
      c("@{handle} envoyé"),
      a("@{cust} Merci ! L'annulation n'avait pas été finalisée à cause d'une erreur de paiement. C'est corrigé et vous serez remboursé sous 5 jours. {sig}"),
      c("@{handle} parfait, merci 👍"),
    ],
  },

  // ===================== Utility =====================
  {
    id: "util_power_outage", sectors: ["utility"], intent: "outage", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", saTopic: "Power Cut",
    turns: [
      c([
        "@{handle} power out on our whole street in {area}, any idea what's going on? 2 kids and a freezer full of food 😬",
        "@{handle} power cut in {area} since 9am. whole road is out. any news?",
      ]),
      a("@{cust} {hi}Sorry about this! There's a fault on an underground cable affecting around 300 homes. Engineers are on site, estimated restore time is 4pm. {sig}", "q"),
      c("@{handle} thanks. do we get compensation if it goes over?"),
      a("@{cust} If it's off for more than 12 hours you're automatically entitled to a payment, no need to claim. Hopefully won't come to that! {sig}"),
      c(["@{handle} lights back on at 3:40 🙌 thank you", "@{handle} power's back, thanks for the updates"], "s"),
    ],
  },
  {
    id: "util_bill_escalated", sectors: ["utility"], intent: "billing_dispute", outcome: "escalated", open: "Negative", overall: "Mixed",
    turns: [
      c("@{handle} my bill this quarter is {amount}. it's normally a third of that. nothing has changed in the house"),
      a("@{cust} {hi}That does look high. Was the bill based on an actual meter reading or an estimate? It'll say on page 2. {sig}"),
      c("@{handle} says 'actual'. but I never submitted one"),
      a("@{cust} Thanks{nm}. In that case we'll need to check the meter and the reading history. I've raised a billing investigation and our billing team will call you within 3 working days. Please don't pay the disputed amount until then. {sig}"),
      c("@{handle} ok. thanks for at least looking into it"),
    ],
  },
  {
    id: "util_meter_first", sectors: ["utility"], intent: "billing_inquiry", outcome: "resolved_first_reply", open: "Neutral", overall: "Positive", saTopic: "Meter Reading",
    turns: [
      c([
        "@{handle} how do I send you a meter reading? my bill is estimated again",
        "@{handle} where do I submit a meter reading? app just shows my balance",
      ]),
      a("@{cust} {hi}You can submit it in the app under Account > Meter readings, or online here: {link} – your bill will be recalculated within 48 hours. {sig}"),
      c(["@{handle} done, thanks!", "@{handle} found it, cheers"]),
    ],
  },
  {
    id: "util_moving_generic", sectors: ["utility"], intent: "cancellation", outcome: "agent_generic", open: "Neutral", overall: "Negative", saTopic: "Account Closure",
    turns: [
      c("@{handle} moving out on the 30th, how do I close my account?"),
      a("@{cust} Thanks for getting in touch. For account queries please call {phone} or visit {link}"),
      c("@{handle} the website just takes me to a form that sends me back to the homepage"),
      a("@{cust} Thanks for getting in touch. For account queries please call {phone} or visit {link}"),
      c("@{handle} ok I'll just call. hold music here I come 🎶"),
    ],
  },
  {
    id: "util_outage_angry", sectors: ["utility"], intent: "outage", outcome: "unresolved_angry", open: "Negative", overall: "Negative", saTopic: "Power Cut",
    turns: [
      c("@{handle} 2nd day without power in {area}. elderly neighbour has no heating. your map says 'under investigation'. what does that even mean"),
      a("@{cust} Sorry for the inconvenience. Our teams are working to restore supply as quickly as possible."),
      c("@{handle} that's what you said yesterday. is anyone actually out there?"),
      a("@{cust} Our engineers are working on the fault. We will update the power cut map as soon as we have more information.", "s"),
      c("@{handle} still dark. no one's been down the street. 30 hours now"),
      c("@{handle} @PowerWatchdog is this acceptable?", "s"),
    ],
  },
  {
    id: "util_es_bill", sectors: ["utility"], intent: "billing_inquiry", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "es",
    turns: [
      c("@{handle} buenas, ¿por qué mi factura de este mes es de {eur}? normalmente pago la mitad"),
      a("@{cust} ¡Hola{nm}! Vamos a revisarlo. ¿Nos envías por DM tu número de contrato? {sig}"),
      c("@{handle} enviado"),
      a("@{cust} Gracias. La factura incluye dos meses porque la lectura anterior fue estimada. No hay ningún error, pero si quieres podemos fraccionar el pago en dos meses. {sig}"),
      c("@{handle} ah vale, tiene sentido. sí, fraccionarlo por favor. gracias!"),
    ],
  },

  // ===================== Courier =====================
  {
    id: "cour_not_received", sectors: ["courier"], intent: "missing_parcel", outcome: "escalated", open: "Negative", overall: "Neutral",
    turns: [
      c([
        "@{handle} tracking says delivered at 14:02 with a photo of… someone else's door. tracking {ref}",
        "@{handle} parcel {ref} marked as delivered. it was not delivered. the photo isn't even my house",
      ]),
      a("@{cust} {hi}Sorry about that! Could you check with your neighbours first? If it doesn't turn up, DM us your address and we'll investigate. {sig}"),
      c("@{handle} checked the whole street. nothing. DM sent", "m"),
      a("@{cust} Thanks{nm}. I've opened an investigation with the local depot and the driver. The sender will also be notified so they can arrange a replacement or refund – we'll update you within 48h. {sig}"),
      c("@{handle} ok thanks"),
    ],
  },
  {
    id: "cour_delay_generic", sectors: ["courier"], intent: "delivery_delay", outcome: "agent_generic", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} parcel {ref} stuck 'in transit' at your hub for 6 days. is it lost?"),
      a("@{cust} We're sorry for any delay. We're currently experiencing high volumes and parcels may take longer than usual."),
      c("@{handle} ok but is mine lost or not? it's medication"),
      a("@{cust} We're sorry for any delay. We're currently experiencing high volumes and parcels may take longer than usual. Please allow an additional 3-5 days.", "s"),
      c(["@{handle} useless 🙄", "@{handle} thanks for nothing"]),
    ],
  },
  {
    id: "cour_thrown", sectors: ["courier"], intent: "staff_complaint", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c("@{handle} your driver just threw my parcel over the gate from the van. it says FRAGILE on the box. I have it on my doorbell camera"),
      a("@{cust} {hi}That's absolutely not how we want parcels handled, I'm sorry. Could you DM us the video and tracking number? {sig}", "q"),
      c("@{handle} sent"),
      a("@{cust} Thanks{nm}. I've shared it with the depot manager, who'll speak to the driver today. If anything inside is damaged let us know and we'll raise a claim for you straight away. {sig}"),
      c("@{handle} luckily it's fine. thanks for taking it seriously"),
    ],
  },
  {
    id: "cour_redelivery", sectors: ["courier"], intent: "redelivery", outcome: "resolved_first_reply", open: "Neutral", overall: "Positive",
    turns: [
      c("@{handle} missed my delivery today, card says try again tomorrow but I'm at work. can it go to a locker instead? {ref}"),
      a("@{cust} {hi}Yes! I've redirected it to the {brand} locker on {street}, you'll get a code by text once it's there. {sig}"),
      c(["@{handle} brilliant, thanks 😊", "@{handle} perfect, ta"]),
    ],
  },
  {
    id: "cour_gave_up", sectors: ["courier"], intent: "delivery_delay", outcome: "customer_gave_up", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} does anyone actually answer here? 3rd tweet this week about {ref}"),
      c("@{handle} hello??", "d"),
      a("@{cust} Hi, please DM us your tracking number. {sig}", "d"),
      c("@{handle} it's in the first tweet. the parcel went back to the sender anyway. don't worry about it"),
    ],
  },
  {
    id: "cour_de", sectors: ["courier"], intent: "delivery_delay", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive", lang: "de",
    turns: [
      c("@{handle} Mein Paket {ref} liegt seit 4 Tagen im Verteilzentrum. Ist das normal?"),
      a("@{cust} Hallo{nm}, entschuldige die Verzögerung! Wir haben einen Rückstau nach dem Streik. Ich habe nachgefragt: dein Paket wird morgen zugestellt. {sig}"),
      c("@{handle} ok, danke für die Info"),
      opt(c("@{handle} ist angekommen 👍", "d")),
    ],
  },

  // ===================== Any brand =====================
  {
    id: "gen_pw_reset", sectors: "any", intent: "password_reset", outcome: "resolved_first_reply", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} password reset link says 'expired' even though I clicked it straight away. tried 3 times",
        "@{handle} every reset link you send me is 'expired or invalid'. clicking within seconds. what am I doing wrong",
      ]),
      a("@{cust} {hi}Sorry about that! Some email apps open links in a preview first, which uses up the link. Try long-pressing and copying it into your browser instead 🙂 {sig}"),
      c(["@{handle} that was it! thanks", "@{handle} omg that worked. cheers"]),
    ],
  },
  {
    id: "gen_app_update", sectors: "any", intent: "app_crash", outcome: "resolved_multi_turn", open: "Negative", overall: "Positive",
    turns: [
      c([
        "@{handle} {app} crashing on launch since this morning's update. {device}",
        "@{handle} updated {app} and now it won't even open 🙃 {device}",
      ]),
      a("@{cust} {hi}Thanks for flagging! Are you on the version released this morning? {sig}", "q"),
      c("@{handle} yes"),
      a("@{cust} Thanks{nm}. We've found the bug – it affects some devices on that OS version and a fix is rolling out within the hour. Sorry for the hassle! {sig}"),
      c(["@{handle} updated again, works now 👍", "@{handle} new update fixed it, thanks"], "s"),
    ],
  },
  {
    id: "gen_dm_only", sectors: ["telecom", "streaming", "utility", "console"], intent: "billing_dispute", outcome: "agent_generic", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} why has my direct debit gone up by {amountLow}? nobody told me anything"),
      a("@{cust} Hi, please DM us."),
      c("@{handle} I did. 2 days ago. no reply"),
      a("@{cust} Hi, please DM us.", "s"),
      c(["@{handle} 🙃🙃🙃", "@{handle} are you even reading these"]),
    ],
  },
  {
    id: "gen_praise_staff", sectors: "any", intent: "praise", outcome: "praise_acknowledged", open: "Positive", overall: "Positive", saTopic: "Staff",
    turns: [
      c([
        "@{handle} {staff} from your support team just spent 40 min on the phone with my mum who is 82 and not great with tech. So patient. Thank you 💐",
        "@{handle} shoutout to {staff} on your phone line today, sorted in 10 minutes what I'd been fighting with for weeks. give them a raise",
      ]),
      a("@{cust} {hi}Thank you so much for taking the time to tell us! We'll make sure {staff} hears this ❤️ {sig}"),
    ],
  },
  {
    id: "gen_sorted_myself", sectors: "any", intent: "account_inquiry", outcome: "customer_gave_up", open: "Neutral", overall: "Neutral",
    turns: [
      c("@{handle} quick q: can I change the email on my account without losing my history?"),
      c("@{handle} bump", "d"),
      a("@{cust} Hi! Yes, you can change it under Settings > Profile. {sig}", "d"),
      c("@{handle} figured it out myself yesterday but thanks I guess"),
    ],
  },
  {
    id: "gen_previously_rude", sectors: "any", intent: "refund", outcome: "agent_rude", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} I was told on the phone my {thing} would be refunded within 5 days. that was 3 weeks ago"),
      a("@{cust} As previously stated in our DMs, refunds are processed within 5-10 working days."),
      c("@{handle} and it's been 15. so it's late. which is my point"),
      a("@{cust} We have nothing further to add at this time.", "s"),
      c(["@{handle} incredible customer service. truly", "@{handle} wow ok"]),
    ],
  },
  {
    id: "gen_charged_after_cancel", sectors: ["telecom", "streaming", "console", "utility"], intent: "billing_dispute", outcome: "resolved_first_reply", open: "Negative", overall: "Positive",
    turns: [
      c("@{handle} cancelled my {sub} in {month} and you still took {amount} this month. cancellation email screenshot 👇 {link}"),
      a("@{cust} {hi}Thanks for the screenshot – you're right, the cancellation didn't go through properly on our side. I've refunded {amount} and confirmed the account is closed. Sorry! {sig}"),
      c("@{handle} thank you, appreciate the quick sort"),
    ],
  },
  {
    id: "gen_mixed_es", sectors: "any", intent: "account_locked", outcome: "resolved_first_reply", open: "Negative", overall: "Positive", lang: "mixed",
    turns: [
      c("@{handle} hi! no puedo entrar a mi cuenta, the app says 'error 500' 😩 help pls"),
      a("@{cust} ¡Hola{nm}! Sorry about that – we had a short server issue this morning. ¿Puedes intentarlo de nuevo ahora? {sig}"),
      c("@{handle} ya funciona!! gracias 🙏"),
    ],
  },
  {
    id: "gen_pingpong_unresolved", sectors: ["airline", "telecom", "bank", "shop", "utility", "courier"], intent: "service_complaint", outcome: "unresolved_angry", open: "Negative", overall: "Negative",
    turns: [
      c("@{handle} your phone team told me to contact social media. Social media told me to call the phone team. I've now done this loop twice"),
      a("@{cust} Sorry for the confusion. What can we help you with today?"),
      c("@{handle} the same thing I've tweeted about 3 times: ref {ref}, still unresolved after a month"),
      a("@{cust} Thanks, please DM us the details and we'll take a look."),
      c("@{handle} DM'd. says seen 4 hours ago. no reply", "s"),
      c(["@{handle} another day. nothing. I'm done being polite", "@{handle} 24 hours, no reply. this is beyond a joke"], "d"),
    ],
  },
  {
    id: "gen_typo_quick", sectors: "any", intent: "account_inquiry", outcome: "resolved_first_reply", open: "Neutral", overall: "Positive",
    turns: [
      c("@{handle} hey how do i chnage the phone number on my acount? new number, cant recieve the codes anymore"),
      a("@{cust} {hi}You can update it in {app} under Profile > Security. If you can't get in because of the old number, use 'I no longer have this number' on the login screen. {sig}", "q"),
      c("@{handle} perfect thx 👌"),
    ],
  },
];

// ---------------------------------------------------------------------------
// Value pools
// ---------------------------------------------------------------------------

const NAMES_EN = [
  "Dana", "Marcus", "Priya", "Tom", "Aisha", "Kenji", "Hannah", "Omar", "Grace", "Fatima", "Liam", "Mei", "Zoe",
  "Amara", "Ben", "Elif", "Nora", "Sam", "Theo", "Leila", "Jack", "Chioma", "Ravi", "Olivia", "Nathan", "Yusuf", "Ruby",
  "Connor", "Imani", "Ethan", "Siobhan", "Arjun", "Megan", "Tyrone", "Isla", "Kofi", "Harriet",
];
const NAMES_ES = ["Lucía", "Javier", "Carmen", "Mateo", "Sofía", "Diego", "Valentina", "Alejandro", "Marta", "Pablo"];
const NAMES_DE = ["Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Tobias", "Katrin", "Jan", "Sabine"];
const NAMES_FR = ["Chloé", "Julien", "Camille", "Louis", "Manon", "Hugo", "Élodie", "Mathieu", "Inès", "Antoine"];
const AGENT_FIRST = [
  "Jess", "Sam", "Marta", "Kieran", "Anita", "Rob", "Leah", "Dev", "Carla", "Tom", "Nadia", "Luis", "Emma", "Oli",
  "Hana", "Femi", "Grace", "Paul", "Zara", "Ian",
];
const STAFF = ["Jordan", "Priya", "Marco", "Sarah", "Kwame", "Ellie", "Tariq", "Bethany", "Luca"];
const CITIES = ["Lisbon", "Dublin", "Madrid", "Berlin", "Chicago", "Toronto", "Denver", "Paris", "Rome", "Manchester", "Boston", "Amsterdam", "Vienna", "Oslo"];
const AREAS = ["Riverside", "the north end", "Oakfield", "Millbrook", "Eastgate", "Hillcrest", "Southbank", "Ashford Green"];
const PLACES = ["the airport", "Central Station", "the stadium", "Union Square", "the convention centre", "Market Street"];
const STREETS = ["Station Road", "Elm Street", "Mill Lane", "Church Road", "Victoria Street"];
const DEVICES = ["iPhone 15", "iPhone 12 mini", "iPhone 13", "Pixel 8", "Pixel 6a", "Galaxy S23", "Galaxy A54", "OnePlus 11", "Moto G54", "iPad Air"];
const TVS = ["Samsung TV", "LG smart TV", "Hisense TV", "Fire Stick", "Roku", "Philips Android TV"];
const ITEMS = ["jacket", "pair of headphones", "rucksack", "desk lamp", "pair of running shoes", "coffee grinder", "phone case", "kettle"];
const LOST = ["phone", "wallet", "AirPods", "keys", "laptop bag", "scarf"];
const PLANS = ["Unlimited Max", "Nimbus 50GB", "5G Unlimited", "Unlimited Plus"];
const CONSOLES = ["Orbix One", "Orbix One S", "Orbix X"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

const AMOUNTS: Record<Sector, readonly [number, number]> = {
  airline: [120, 860],
  telecom: [64, 460],
  bank: [38, 1250],
  streaming: [11, 23],
  shop: [24, 320],
  ride: [34, 92],
  console: [20, 70],
  utility: [240, 780],
  courier: [4, 14],
};

/** euro amounts for the non-English scenarios that use {eur} */
const EUR: Record<Sector, readonly [number, number]> = {
  airline: [60, 420],
  telecom: [20, 90],
  bank: [15, 400],
  streaming: [8, 18],
  shop: [15, 150],
  ride: [4, 12],
  console: [9, 17],
  utility: [110, 290],
  courier: [4, 12],
};

function money(r: Rng, brand: Brand, lo: number, hi: number): string {
  const whole = int(r, lo, hi);
  const cents = pick(r, [0, 99, 49, 50, 99, 0, 20, 75]);
  const amount = cents === 0 && whole > 100 ? `${whole}` : `${whole}.${String(cents).padStart(2, "0")}`;
  return `${brand.currency}${amount}`;
}

// ---------------------------------------------------------------------------
// Composition
// ---------------------------------------------------------------------------

const SEED = 20240917;
const VALID_DOCS = 200;
const RANGE_START = Date.UTC(2024, 0, 8);
const RANGE_DAYS = 297; // up to 2024-10-31
const HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 8, 8, 8, 8, 9, 9, 9, 8, 6, 4, 2];
const DELAY_MIN: Record<Delay, readonly [number, number]> = {
  now: [0.3, 3],
  q: [1, 15],
  m: [8, 120],
  s: [150, 540],
  d: [900, 1700],
};

function randomStart(r: Rng): number {
  const day = int(r, 0, RANGE_DAYS - 1);
  const total = HOUR_WEIGHTS.reduce((x, y) => x + y, 0);
  let roll = r() * total;
  let hour = 0;
  while (hour < 23 && roll >= (HOUR_WEIGHTS[hour] as number)) {
    roll -= HOUR_WEIGHTS[hour] as number;
    hour++;
  }
  return RANGE_START + day * 86_400_000 + hour * 3_600_000 + int(r, 0, 3599) * 1000;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function namePool(lang: Lang | undefined): readonly string[] {
  if (lang === "es" || lang === "mixed") return NAMES_ES;
  if (lang === "de") return NAMES_DE;
  if (lang === "fr") return NAMES_FR;
  return NAMES_EN;
}

function makeContext(r: Rng, s: Scenario, brand: Brand, cust: string, start: number): Record<string, string> {
  const name = pick(r, namePool(s.lang));
  const useName = chance(r, 0.6);
  const agentFirst = pick(r, AGENT_FIRST);
  const agentInitials = `${agentFirst[0]}${chars(r, "ABCDEFGHJKLMNPRSTW", 1)}`;
  const sig = brand.sig === "caret" ? `^${agentInitials}` : `-${agentFirst}`;
  const hi = useName
    ? pick(r, [`Hi ${name}! `, `Hey ${name}! `, `Hi ${name}. `])
    : pick(r, ["Hi there! ", "Hey there! ", "Hi! ", ""]);
  const [lo, hi2] = AMOUNTS[brand.sector];
  const amountNum = int(r, lo, hi2);
  const cities = shuffle(r, CITIES.slice());
  const prevMonth = (new Date(start).getUTCMonth() + 11) % 12;
  const [elo, ehi] = EUR[brand.sector];
  const eur = `${int(r, elo, ehi)},${pick(r, ["00", "90", "99", "50", "49"])} €`;
  return {
    handle: brand.handle,
    brand: brand.name,
    cust,
    name,
    hi,
    nm: useName ? `, ${name}` : "",
    sig,
    link: `https://t.co/${chars(r, B62, 10)}`,
    link2: `https://t.co/${chars(r, B62, 10)}`,
    ref: brand.ref(r),
    amount: money(r, brand, amountNum, amountNum),
    amountLow: money(r, brand, Math.max(3, Math.round(amountNum * 0.22)), Math.max(4, Math.round(amountNum * 0.4))),
    eur,
    flight: `SK ${int(r, 100, 2999)}`,
    cityA: cities[0] as string,
    cityB: cities[1] as string,
    cityC: cities[2] as string,
    city: cities[3] as string,
    area: pick(r, AREAS),
    place: pick(r, PLACES),
    street: pick(r, STREETS),
    device: pick(r, DEVICES),
    tv: pick(r, TVS),
    item: pick(r, ITEMS),
    lostitem: pick(r, LOST),
    plan: pick(r, PLANS),
    console: pick(r, CONSOLES),
    staff: pick(r, STAFF),
    month: MONTHS[prevMonth] as string,
    phone: brand.phone,
    app: brand.app,
    sub: brand.sub,
    thing: brand.thing,
    status: brand.status,
  };
}

function fill(text: string, ctx: Record<string, string>, scenarioId: string): string {
  return text.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const v = ctx[key];
    if (v === undefined) throw new Error(`scenario ${scenarioId}: unknown placeholder {${key}}`);
    return v;
  });
}

interface Tweet {
  tweet_id: unknown;
  author_id: unknown;
  role: unknown;
  inbound?: unknown;
  created_at: unknown;
  text: unknown;
}

interface Built {
  start: number;
  scenario: Scenario;
  brand: Brand;
  doc: Record<string, unknown>;
}

function buildDoc(r: Rng, s: Scenario, brand: Brand, cust: string, start: number): Built {
  const ctx = makeContext(r, s, brand, cust, start);
  const tweets: Tweet[] = [];
  let t = start;
  let first = true;
  for (const turn of s.turns) {
    if (turn.opt && !chance(r, 0.55)) continue;
    if (!first) {
      const [lo, hi] = DELAY_MIN[turn.delay];
      let minutes = lo + r() * (hi - lo);
      if (turn.who === "A") minutes *= brand.speed;
      t += Math.round(minutes * 60) * 1000 + int(r, 0, 59) * 1000;
    }
    first = false;
    const raw = typeof turn.text === "string" ? turn.text : pick(r, turn.text);
    const inbound = turn.who === "C";
    tweets.push({
      tweet_id: tweets.length + 1,
      author_id: inbound ? cust : brand.handle,
      role: inbound ? "Customer" : "Agent",
      inbound,
      created_at: iso(t),
      text: fill(raw, ctx, s.id).replace(/\s+$/, ""),
    });
  }
  const l = INTENTS[s.intent];
  const doc = {
    conversation: {
      tweets,
      classification: {
        categorization: l.categorization,
        intent: l.intent,
        topic: l.topic,
        sentiment: s.open,
      },
    },
    sentiment_analysis: {
      overall_sentiment: s.overall,
      intent: l.saIntent,
      topic: s.saTopic ?? l.saTopic,
    },
  };
  return { start, scenario: s, brand, doc };
}

// ---------------------------------------------------------------------------
// Malformed documents
// ---------------------------------------------------------------------------

interface Malformed {
  note: string;
  mutate: (doc: Record<string, unknown>, r: Rng) => Record<string, unknown>;
}

const tweetsOf = (doc: Record<string, unknown>): Tweet[] =>
  (doc["conversation"] as { tweets: Tweet[] }).tweets;

const MALFORMED: readonly Malformed[] = [
  {
    note: "malformed: `conversation` field is missing",
    mutate: (doc) => ({ sentiment_analysis: doc["sentiment_analysis"] }),
  },
  {
    note: "malformed: `conversation.tweets` is a string, not an array",
    mutate: (doc) => {
      const conv = doc["conversation"] as Record<string, unknown>;
      const text = tweetsOf(doc).map((tw) => tw.text).join(" / ");
      return { ...doc, conversation: { ...conv, tweets: text } };
    },
  },
  {
    note: "malformed: `conversation.tweets` is an empty array",
    mutate: (doc) => {
      const conv = doc["conversation"] as Record<string, unknown>;
      return { ...doc, conversation: { ...conv, tweets: [] } };
    },
  },
  {
    note: "malformed: a message's `text` is a number",
    mutate: (doc, r) => {
      const tws = tweetsOf(doc);
      const tw = tws[int(r, 1, tws.length - 1)] as Tweet;
      tw.text = 404;
      return doc;
    },
  },
  {
    note: "malformed: a message has no `inbound` field",
    mutate: (doc, r) => {
      const tws = tweetsOf(doc);
      const tw = tws[int(r, 0, tws.length - 1)] as Tweet;
      delete tw.inbound;
      return doc;
    },
  },
  {
    note: "malformed: a message's `created_at` is \"not-a-date\"",
    mutate: (doc, r) => {
      const tws = tweetsOf(doc);
      const tw = tws[int(r, 1, tws.length - 1)] as Tweet;
      tw.created_at = "not-a-date";
      return doc;
    },
  },
  {
    note: "malformed: `conversation` is null",
    mutate: (doc) => ({ conversation: null, sentiment_analysis: doc["sentiment_analysis"] }),
  },
  {
    note: "malformed: a message's `text` is null",
    mutate: (doc, r) => {
      const tws = tweetsOf(doc);
      const tw = tws[int(r, 1, tws.length - 1)] as Tweet;
      tw.text = null;
      return doc;
    },
  },
];

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function eligibleBrands(s: Scenario): readonly Brand[] {
  return s.sectors === "any" ? BRANDS : BRANDS.filter((b) => (s.sectors as readonly Sector[]).includes(b.sector));
}

function generate(): { docs: Record<string, unknown>[]; valid: Built[]; malformedCount: number } {
  const r = mulberry32(SEED);

  const ids = new Set<string>();
  for (const s of SCENARIOS) {
    if (ids.has(s.id)) throw new Error(`duplicate scenario id ${s.id}`);
    ids.add(s.id);
    if (eligibleBrands(s).length === 0) throw new Error(`scenario ${s.id}: no brand`);
  }
  if (SCENARIOS.length * 2 > VALID_DOCS) throw new Error("too many scenarios for VALID_DOCS");

  // Every scenario twice, the remainder drawn without replacement.
  const uses: Scenario[] = SCENARIOS.flatMap((s) => [s, s]);
  uses.push(...shuffle(r, SCENARIOS.slice()).slice(0, VALID_DOCS - uses.length));

  // Brand assignment: brand-specific scenarios first, then "any"/multi-brand ones balance the counts.
  const brandUse = new Map<string, number>(BRANDS.map((b) => [b.handle, 0]));
  const ordered = [...uses].sort((x, y) => eligibleBrands(x).length - eligibleBrands(y).length);
  const assigned: { s: Scenario; brand: Brand }[] = [];
  for (const s of ordered) {
    const options = shuffle(r, eligibleBrands(s).slice());
    const brand = options.reduce((best, b) =>
      (brandUse.get(b.handle) as number) < (brandUse.get(best.handle) as number) ? b : best);
    brandUse.set(brand.handle, (brandUse.get(brand.handle) as number) + 1);
    assigned.push({ s, brand });
  }
  shuffle(r, assigned);

  // Unique numeric customer ids (Twitter-style anonymised author ids).
  const custIds = new Set<string>();
  const newCust = (): string => {
    for (;;) {
      const id = String(int(r, 100_000, 899_999));
      if (!custIds.has(id)) {
        custIds.add(id);
        return id;
      }
    }
  };

  const valid = assigned.map(({ s, brand }) => buildDoc(r, s, brand, newCust(), randomStart(r)));

  const broken = MALFORMED.map((m) => {
    const s = pick(r, SCENARIOS.filter((x) => x.lang === undefined));
    const brand = pick(r, eligibleBrands(s));
    const built = buildDoc(r, s, brand, newCust(), randomStart(r));
    const doc = m.mutate(built.doc, r);
    return { start: built.start, doc: { _sample_note: m.note, ...doc } };
  });

  const all = [...valid.map((v) => ({ start: v.start, doc: v.doc })), ...broken].sort((x, y) => x.start - y.start);

  // ObjectId = 4-byte timestamp (first message, strictly increasing seconds) + 5 random bytes + 3-byte counter.
  let lastSec = 0;
  let counter = int(r, 0x100000, 0x7fffff);
  const docs = all.map(({ start, doc }) => {
    let sec = Math.floor(start / 1000);
    if (sec <= lastSec) sec = lastSec + 1;
    lastSec = sec;
    const oid = sec.toString(16).padStart(8, "0") + chars(r, "0123456789abcdef", 10) + (counter++).toString(16).padStart(6, "0");
    const { _sample_note, ...rest } = doc as Record<string, unknown>;
    return _sample_note === undefined
      ? { _id: { $oid: oid }, ...rest }
      : { _id: { $oid: oid }, _sample_note, ...rest };
  });

  return { docs, valid, malformedCount: broken.length };
}

function check(docs: Record<string, unknown>[], valid: Built[]): void {
  let prev = "";
  for (const d of docs) {
    const oid = (d["_id"] as { $oid: string }).$oid;
    if (!/^[0-9a-f]{24}$/.test(oid)) throw new Error(`bad oid ${oid}`);
    if (oid <= prev) throw new Error(`ids not strictly increasing at ${oid}`);
    prev = oid;
  }
  for (const v of valid) {
    const tws = tweetsOf(v.doc);
    if (tws.length < 2 || tws.length > 12) throw new Error(`${v.scenario.id}: ${tws.length} messages`);
    if (tws[0]?.inbound !== true) throw new Error(`${v.scenario.id}: first message not from customer`);
    let last = "";
    for (const tw of tws) {
      const text = tw.text as string;
      if (/[{}]/.test(text)) throw new Error(`${v.scenario.id}: unresolved placeholder in "${text}"`);
      if ([...text].length > 280) throw new Error(`${v.scenario.id}: message over 280 chars (${[...text].length}): ${text}`);
      if ((tw.created_at as string) < last) throw new Error(`${v.scenario.id}: time goes backwards`);
      last = tw.created_at as string;
    }
  }
}

function countBy<T>(xs: readonly T[], key: (x: T) => string, byKey = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  const entries = Object.entries(out);
  entries.sort(byKey ? (p, q) => p[0].localeCompare(q[0]) : (p, q) => q[1] - p[1] || p[0].localeCompare(q[0]));
  return Object.fromEntries(entries);
}

const { docs, valid, malformedCount } = generate();
check(docs, valid);

const here = dirname(fileURLToPath(import.meta.url));
const outPath = join(here, "sentiment_analysis.json");
const json = `${JSON.stringify(docs, null, 2)}\n`;
writeFileSync(outPath, json);

const summary = {
  file: outPath,
  bytes: Buffer.byteLength(json),
  total: docs.length,
  valid: valid.length,
  malformed: malformedCount,
  scenarios: SCENARIOS.length,
  perBrand: countBy(valid, (v) => v.brand.handle),
  perOutcome: countBy(valid, (v) => v.scenario.outcome),
  perIntent: countBy(valid, (v) => v.scenario.intent),
  perLanguage: countBy(valid, (v) => v.scenario.lang ?? "en"),
  perOverallSentiment: countBy(valid, (v) => v.scenario.overall),
  perMessageCount: countBy(valid, (v) => `${String(tweetsOf(v.doc).length).padStart(2, " ")} msgs`, true),
};
console.log(JSON.stringify(summary, null, 2));
