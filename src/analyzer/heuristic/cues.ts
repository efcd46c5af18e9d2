/**
 * The cue lists of the heuristic analyzer (syntax in phrases.ts). Written for normalised text:
 * lower case, one apostrophe `'`, no @mentions or URLs. English first, then Spanish, German, French.
 */
import { compile, type CueSpec, OPEN_PAREN } from "./phrases.ts"

const specs = {
  apology: {
    phrases: [
      "sorry", "apologise|apologize|apologised|apologized|apologises|apologizes|apologies", "my bad", "regret the|any",
      "lo siento|sentimos", "disculp*", "perdón", "perdona*", "lamento|lamentamos",
      "entschuldig*", "tut mir|uns leid",
      "désolé|désolée|désolés|désolées", "nos excuses", "je m'excuse"
    ]
  },
  acknowledgement: {
    phrases: [
      "i|we [completely|totally|fully] understand", "understand how|why|that|your",
      "i can see|imagine|understand", "that|this must be|have", "sounds [really|so] frustrating|stressful|annoying|awful",
      "i hear you", "thanks|thank [you] for letting|flagging|bringing|reaching", "thanks|thank [you] for your patience",
      "thanks|thank [you] for bearing with", "thanks|thank [you] [so] [much] for sharing|telling|trying|waiting|taking",
      "glad|great|awesome|happy|lovely|love to hear", "made our day", "appreciate your|the patience", "not the experience we|you",
      "completely|totally understandable",
      "entiendo|comprendo|entendemos", "lo frustrante",
      "verstehe|verstehen|nachvollziehen",
      "je comprends", "nous comprenons"
    ]
  },
  /** The agent names a feeling. */
  emotionNaming: {
    phrases: [
      "frustrat*", "stress*", "upset|upsetting|annoying|disappointing|disappointed", "worr*", "inconvenien*", "concern*",
      "that|this must be", "i can imagine", "i can see how|why", "sounds like",
      "molest*", "frustrante", "preocup*", "ärgerlich|frustrierend", "enttäusch*", "agaçant|frustrant|décevant", "inquiét*"
    ]
  },
  supportive: {
    phrases: [
      "make sure", "i'll|we'll sort|fix|get|handle|help", "i'll|we'll take care", "i'll|we'll look into",
      "i|we will sort|fix|get|handle|help", "happy|glad|here to help", "here for you", "let me", "let's get|sort|fix|figure",
      "rest assured", "don't worry", "no worries", "we've got you|this", "take care of it|this|that",
      "con gusto", "estamos aquí", "te ayud*", "vamos a solucionar|resolver|ayudar",
      "gerne", "wir kümmern uns", "kümmere mich", "helfen ihnen|dir",
      "avec plaisir", "nous allons", "je m'en occupe", "on s'en occupe"
    ]
  },
  /** Refusing ownership without insulting (insults are `rudeness`). */
  deflection: {
    phrases: [
      "nothing we|i can do", "we|i can't|cannot help", "we|i can't|cannot do anything", "not our|my responsibility|job|department",
      "nothing further to add", "please refer to", "please review the terms|policy|faq",
      "no podemos hacer nada", "können wir nichts", "nous ne pouvons rien"
    ]
  },
  rudeness: {
    phrases: [
      "not our|my problem|fault", "read|check the faq", "calm down", "as i [already] said|told you|mentioned",
      "as [previously|already] stated|mentioned",
      "you should have", "your [own] fault", "deal with it", "stop complaining",
      "no es nuestro|mi problema", "cálmese|cálmate|tranquilícese", "lea las preguntas frecuentes", "lea el|la faq",
      "nicht unser|mein problem", "beruhigen sie sich", "lesen sie die|unsere faq",
      "pas notre|mon problème", "calmez vous", "lisez la faq"
    ]
  },
  resolution: {
    guard: "negation",
    phrases: [
      "fixed|resolved|solved|refunded", "sorted [out]", "should [now] be fixed|resolved|sorted|working",
      "works now|again", "working now|again", "that|it worked", "refund [has|was|is] [been] processed|issued|completed",
      "processed|issued your|the|a refund", "refund|payment|charge|fee|money ~5 processed|issued|reversed|waived|credited|refunded",
      "all set", "all good", "good to go", "problem solved", "back up and running", "that did it", "that helped",
      "solucionado|resuelto|arreglado|reembolsado", "ya funciona", "funciona ya|bien", "funciona de nuevo",
      "reembolso [ya] [ha] [sido|fue] procesado|realizado|emitido", "procesado|realizado el reembolso",
      "gelöst|behoben|erstattet", "funktioniert wieder|jetzt",
      "résolu|réglé|remboursé|remboursée", "ça marche|fonctionne", "fonctionne maintenant", "fonctionne à nouveau",
      "remboursement [a] [été] effectué"
    ]
  },
  /** Customer confirmations; they only mean "resolved" after the agent has answered. */
  customerResolved: {
    guard: "negation",
    phrases: [
      "worked|works|arrived|received", "it's|its back", "back up|online|on", "got it", "found it", "checked in",
      "angekommen", "ist da", "llegó", "ha llegado", "recibido", "reçu|arrivé|arrivée"
    ]
  },
  /** Agent statements that the work is done. */
  agentDone: {
    guard: "negation",
    phrases: [
      "done", "booked|rebooked|waived|reversed|credited|replaced|unlocked|unblocked|restored|reactivated|corrected",
      "on its|it's|the way",
      "has|have been sent|credited|refunded|replaced|reset|unlocked|unblocked|restored|reactivated|cancelled|canceled|removed|waived|reversed|corrected|updated|applied",
      "i've|we've fixed|sorted|corrected|updated|applied|removed|cancelled|canceled|redirected|arranged|reset",
      "gutgeschrieben", "hemos procesado|enviado|realizado|reembolsado|corregido", "nous avons remboursé|corrigé|envoyé"
    ]
  },
  nonResolution: {
    phrases: [
      "still not|doesn't|don't|isn't|won't|can't|broken|waiting|nothing|no|doesnt|dont|isnt",
      "not working|fixed|resolved|solved|sorted|helpful|helping",
      "doesn't|didn't|don't|doesnt|didnt|dont work|help", "does|did not work|help",
      "isn't|wasn't|hasn't|haven't|isnt|wasnt|hasnt|havent [been] working|fixed|resolved|solved",
      "useless", "waste of [my] time", "thanks for nothing", "no help|response|reply|answer",
      "nobody [has] answered|replied|responded|helped", "same|this problem|issue again", "still the same", "makes no difference",
      "that's wrong", "that's not true|right|correct", "wrong|incorrect answer|information|info",
      "thanks|thank [you] anyway", "danke trotzdem", "gracias igual|igualmente", "gracias de todos modos", "merci quand même",
      "no funciona|sirve", "sigue sin", "todavía|aún no", "inútil",
      "funktioniert|geht [immer] [noch] [leider] nicht", "immer noch nicht", "nicht gelöst", "nutzlos",
      "ne marche|fonctionne [toujours] pas", "toujours pas", "pas résolu", "inutile"
    ]
  },
  agentCannot: {
    phrases: [
      "we|i can't|cannot", "we are unable", "i am unable", "we're unable", "i'm unable", "unfortunately",
      "no podemos", "leider", "malheureusement"
    ]
  },
  thanks: {
    phrases: ["thanks|thank|thx|ty|ta|cheers", "much appreciated", "gracias", "danke", "merci"]
  },
  /** A move to another channel or team. */
  handoff: {
    phrases: [
      "dm|dms|call|calling|phone|specialist|transfer*", "direct|private message", "send|drop us a message|note|pm",
      "ring us", "contact us|our|the|your|a", "reach out to us|our|the|your|a", "email|e mail us",
      "visit a|the|your|our store|branch|shop", "another|other team",
      "md", "mensaje privado|directo", "llám*", "llamar", "teléfono",
      "direktnachricht|privatnachricht|anrufen", "rufen sie", "telefon*",
      "message privé", "en mp", "appel*", "téléphone"
    ]
  },
  /** Explicit escalation, or a threat of one. */
  escalation: {
    phrases: [
      "supervisor|manager|escalat*|complaint|complain|lawyer|attorney|sue|suing|ombudsman|regulator|bbb", "legal action",
      "trading standards", "cancel my account|subscription|contract|order|service", "switching to",
      "queja|reclamación|reclamo|denuncia|abogado|jefe", "hoja de reclamaciones",
      "beschwerde|vorgesetzt*|anwalt|verbraucherzentrale|kündig*",
      "plainte|réclamation|avocat|responsable|résilier"
    ]
  },
  /** Work still pending; inside an "if …" clause it is an offer ("DM us if anything else comes up"). */
  followUp: {
    guard: "conditional",
    phrases: [
      "we'll|i'll get back", "we|i will get back", "get back to you", "within # [business|working] hours|hour|days|day|h", "within 24h|48h|72h",
      "in the next #", "follow|following up", "keep you posted|updated", "will|to update you", "we'll|i'll be in touch",
      "look into it|this", "looking into", "investigat*", "dm us", "send us a dm",
      "te contactaremos", "nos pondremos en contacto", "te escribiremos|avisaremos", "en [las] [próximas] # horas",
      "melden uns", "melde mich", "innerhalb von #", "nous reviendrons", "nous vous recontacterons", "sous # h|heures", "sous 24h|48h"
    ]
  },
  /** The agent did the work ("I've refunded", "we'll send a replacement"). */
  proactive: {
    phrases: [
      "i've|we've *ed|sent|made|done|set|gone|issued|added", "i|we have *ed|sent|made|done|set|gone|issued|added",
      "i went ahead", "already", "i'll|we'll take|send|add|process|credit|refund|sort|fix|arrange|replace",
      "processed|credited|refunded", "on its|it's|the way",
      "ya hemos|he", "hemos procesado|enviado|realizado|añadido|reembolsado",
      "habe|haben [ich|wir] ge*|erstattet|storniert|veranlasst|nachgefragt|überprüft", "j'ai *é", "nous avons *é"
    ]
  },
  /** Concrete instructions. */
  actionable: {
    phrases: [
      "go to", "tap|click|select|open|restart|reboot|update|reinstall|install|clear|reset|try|check|follow|enable|disable|unplug",
      "log|sign out|in", "turn [it] off|on", "here's how", "step|steps|settings",
      "ve a", "pulsa|reinicia|actualiza|prueba", "gehen|tippen|starten|versuchen sie", "allez|cliquez|redémarrez|essayez"
    ]
  },
  /** The agent asks for details. */
  asksDetails: {
    phrases: [
      "what|which is your",
      "send|provide|share|give|dm [us|me] your|the order|account|email|phone|tracking|reference|case|booking|confirmation|serial|number|details|address|name",
      "can|could you confirm|share|send", "can|could you tell us",
      "envíanos|indícanos|dinos|facilítanos tu|el|la", "senden|nennen|schicken sie uns", "envoyez|indiquez|donnez nous"
    ]
  },
  cheerful: { phrases: ["awesome", "yay", "haha*", "lol", "woo|wooo|woohoo", "hehe", "jaja*"] },
  customerUrgency: {
    phrases: [
      "urgent|urgently|asap|immediately|emergency", "right now", "as soon as possible",
      "dringend|sofort|urgente|inmediatamente", "ya mismo", "d'urgence", "immédiatement"
    ]
  },
  agentUrgency: {
    phrases: [
      "right|straight away", "immediately|asap|priority|urgent|urgently", "priorit*", "as soon as possible",
      "de inmediato", "sofort|umgehend", "immédiatement", "tout de suite"
    ]
  },
  courtesy: {
    phrases: ["please|thanks|usted|bitte|danke|merci|vous", "thank you", "por favor", "gracias", "s'il vous plaît"]
  },
  languageDismissal: {
    phrases: ["speak|write|use english", "english only", "only speak|support english", "in english please"]
  },
  filler: {
    phrases: [
      "please be advised", "kindly note", "please note that", "at this point in time", "as per", "do not hesitate",
      "don't hesitate", "we apologise|apologize for any inconvenience", "in order to", "for your information",
      "i|we would like to inform you", "due to the fact that",
      "le informamos|comunicamos que", "wir möchten sie darauf hinweisen", "nous vous informons que"
    ]
  },
  /** Technical or internal terms; one followed by an explanation in brackets does not count. */
  jargon: {
    notBefore: OPEN_PAREN,
    phrases: [
      "sla|api|backend|frontend|cache|dns|ip|tcp|ssl|tls|proxy|firmware|config|rma|kb|sku|token|oauth|sso|vpn",
      "back|front end", "server|client side", "ticket|case|incident id", "escalation matrix", "tier 1|2|3", "l1|l2|l3",
      "knowledge base article", "mac address", "bandwidth|latency|provisioning|deprecated|endpoint|payload|protocol",
      "packet loss", "throttl*", "propagat*", "root cause", "hotfix|regression|apn|imei|pnr|cpe|backlog", "ticketing system"
    ]
  },
  connectors: {
    phrases: [
      "first|then|next|once|finally|because|since|meanwhile", "after that", "that way", "in the meantime",
      "primero|luego|después|porque", "zuerst|dann|danach|weil", "d'abord|ensuite|puis", "parce que"
    ]
  },
  /** The agent says who acts. */
  ownership: { phrases: ["i've|we've|i'll|we'll", "i|we have|will|can", "i'm|we're going to"] }
} satisfies Record<string, CueSpec>

export type CueKind = keyof typeof specs

export const CUES = compile<CueKind>(specs)

const BE = new Set(["is", "are", "was", "were", "be", "been", "being", "get", "gets", "got", "gotten"])
const IRREGULAR_PARTICIPLES = new Set(
  ("known done made given taken seen sent shown written paid sold told found kept held left lost built brought bought " +
    "caught chosen broken spoken stolen forgotten frozen hidden").split(" ")
)
// Adjectives ending in -ed after "be" are not passive ("I'm worried", "we're based in").
const NOT_PASSIVE = new Set(
  ("interested excited pleased concerned worried delighted tired surprised disappointed frustrated annoyed confused " +
    "based located supposed used started experienced qualified").split(" ")
)
const ES_AUX = new Set(["fue", "fueron", "sido", "será", "serán"])
const FR_AUX = new Set(["été", "était", "sera", "seront"])

/** Passive constructions: "be"/"get" + past participle, Spanish "fue …ado", German "wurde", French "a été …é". */
export const countPassive = (tokens: ReadonlyArray<string>): number => {
  let n = 0
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t === "wurde" || t === "wurden" || t === "worden") {
      n++
      continue
    }
    let next = tokens[i + 1]
    if (next === undefined) break
    if (BE.has(t)) {
      if (next.endsWith("ly") && tokens[i + 2] !== undefined) next = tokens[i + 2]!
      if ((next.length > 4 && next.endsWith("ed") && !NOT_PASSIVE.has(next)) || IRREGULAR_PARTICIPLES.has(next)) n++
    } else if (ES_AUX.has(t)) {
      if (/(?:ado|ada|ido|ida)s?$/.test(next)) n++
    } else if (FR_AUX.has(t)) {
      if (/(?:é|ée|és|ées)$/.test(next)) n++
    }
  }
  return n
}
