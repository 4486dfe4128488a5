"""Currency symbols, names and codes mapped to ISO 4217, and a shop's default currency.

Three questions are answered here, all from tables built once at import:

* which currency does a symbol such as `kr`, `$` or `zł` stand for (`to_iso`), using the shop's
  domain or page language to settle the ambiguous ones (`$` is AUD on amazon.com.au);
* where in a text are currency symbols (`find_currencies`), so that the price parser can take the
  number that stands next to one;
* what currency a shop shows by default (`currency_for`), from known hosts, the country-code
  top-level domain, and, as a last resort, the page language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit


def _words(table: str) -> frozenset[str]:
    """Read a whitespace-separated table of words into a set."""
    return frozenset(table.split())


def _pairs(table: str) -> dict[str, str]:
    """Read 'KEY:VALUE KEY:VALUE ...' into a dict."""
    return {key: value for key, _, value in (pair.partition(":") for pair in table.split())}


# fmt: off
# Active ISO 4217 codes, plus withdrawn ones still found on old pages (DEM, FRF, ITL, ...).
ISO_4217: Final[frozenset[str]] = _words("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
ZWL
ATS BEF BYR CYP DEM EEK ESP FIM FRF GRD HRK IEP ITL LTL LUF LVL MRO MTL NLG PTE SIT SKK STD TRL
VEF
""")

# Currencies whose minor unit has three digits, so `1.226` there means one and a bit.
THREE_DECIMAL_CURRENCIES: Final[frozenset[str]] = frozenset(
    {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
)

# Symbol -> currencies it may stand for; the first is the default when nothing else tells,
# a leading "?" means there is no safe default (`kr` could be SEK, NOK, DKK or ISK).
# ISO codes themselves are not listed: they are recognised from ISO_4217.
_SYMBOL_TABLE: Final[dict[str, str]] = {
    # dollars: the bare sign is USD unless the shop's own currency is another dollar
    "$": "USD AUD CAD NZD SGD HKD MXN TWD ARS CLP COP UYU BSD BBD BZD BMD BND FJD GYD JMD KYD "
         "LRD NAD SBD SRD TTD XCD CUP DOP",
    "dollar": "USD AUD CAD NZD SGD HKD", "dollars": "USD AUD CAD NZD SGD HKD",
    "US$": "USD", "US $": "USD", "U$S": "USD", "U$": "USD",
    "A$": "AUD", "AU$": "AUD", "AU $": "AUD",
    "C$": "CAD NIO", "CA$": "CAD", "CA $": "CAD", "CAN$": "CAD", "Can$": "CAD",
    "NZ$": "NZD", "HK$": "HKD", "S$": "SGD", "SG$": "SGD", "NT$": "TWD", "MX$": "MXN",
    "R$": "BRL", "RD$": "DOP", "J$": "JMD", "TT$": "TTD", "BZ$": "BZD", "Bds$": "BBD",
    "EC$": "XCD", "FJ$": "FJD", "G$": "GYD", "GY$": "GYD", "WS$": "WST", "T$": "TOP",
    "Z$": "ZWL", "CUC$": "CUC", "MOP$": "MOP", "BN$": "BND", "B$": "?BND BSD", "N$": "NAD",
    "$U": "UYU", "$b": "BOB", "AR$": "ARS", "CL$": "CLP", "CO$": "COP", "COL$": "COP",
    # euro, pound, yen, yuan
    "€": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP EGP GIP FKP SHP SYP LBP", "￡": "GBP", "GB£": "GBP", "pound": "GBP", "pounds": "GBP",
    "stg": "GBP", "E£": "EGP", "SY£": "SYP", "LB£": "LBP",
    "¥": "JPY CNY", "￥": "JPY CNY", "JP¥": "JPY", "CN¥": "CNY", "円": "JPY", "yen": "JPY",
    "元": "CNY TWD HKD", "圆": "CNY", "圓": "?TWD HKD MOP", "人民币": "CNY", "RMB": "CNY",
    "yuan": "CNY",
    # rupees
    "₹": "INR", "Rs": "INR PKR LKR NPR MUR SCR", "Rs.": "INR PKR LKR NPR MUR SCR",
    "₨": "?INR PKR LKR NPR MUR SCR", "rupee": "INR PKR LKR NPR", "rupees": "INR PKR LKR NPR",
    "र": "INR", "रु": "NPR", "रू": "NPR", "नेरू": "NPR", "රු": "LKR", "ரூ": "?LKR INR",
    # Europe outside the euro
    "CHF": "CHF", "Fr.": "CHF", "fr.": "CHF", "SFr": "CHF", "SFr.": "CHF", "sFr": "CHF",
    "kr": "?SEK NOK DKK ISK", "kr.": "?DKK SEK NOK ISK",
    "Skr": "SEK", "SKr": "SEK", "Nkr": "NOK", "NKr": "NOK", "Dkr": "DKK", "DKr": "DKK",
    "Ikr": "ISK",
    "zł": "PLN", "zl": "PLN", "Kč": "CZK", "Kc": "CZK", "Ft": "HUF", "FT": "HUF",
    "lei": "RON MDL", "leu": "RON MDL", "лей": "MDL", "лв": "BGN", "лв.": "BGN", "kn": "HRK",
    "₺": "TRY", "TL": "TRY", "YTL": "TRY",
    "₴": "UAH", "грн": "UAH", "грн.": "UAH", "hrn": "UAH",
    "рубль": "RUB BYN", "рубля": "RUB BYN", "рублей": "RUB BYN", "евро": "EUR",
    "доллар": "USD", "доллара": "USD", "долларов": "USD", "гривна": "UAH", "гривня": "UAH",
    "гривен": "UAH", "гривень": "UAH", "гривні": "UAH", "złotych": "PLN", "злотых": "PLN",
    "₽": "RUB", "руб": "RUB BYN", "руб.": "RUB BYN", "р.": "RUB BYN", "р": "RUB BYN",
    "Р": "RUB BYN", "Rbl": "RUB", "Br": "?BYN ETB",
    "дин": "RSD", "дин.": "RSD", "Дин": "RSD", "din": "RSD", "din.": "RSD", "Din": "RSD",
    "Dinara": "RSD", "динар": "RSD MKD", "ден": "MKD", "ден.": "MKD", "KM": "BAM",
    "Lek": "ALL", "Lekë": "ALL",
    "DM": "DEM", "Esc": "PTE", "Pta": "ESP", "Pts": "ESP", "Ptas": "ESP", "₧": "ESP",
    "Sk": "SKK", "Lt": "LTL", "Ls": "LVL",
    # Caucasus and Central Asia
    "₾": "GEL", "ლარი": "GEL", "lari": "GEL", "ლ": "GEL", "֏": "AMD", "դր": "AMD", "դր.": "AMD",
    "₼": "AZN", "ман.": "AZN", "₸": "KZT", "тг": "KZT", "тңг": "KZT", "тңг.": "KZT",
    "тенге": "KZT", "сом": "KGS", "so'm": "UZS", "soʻm": "UZS", "сўм": "UZS",
    "som": "?UZS KGS",
    # Asia and the Pacific
    "₩": "KRW", "원": "KRW", "₫": "VND", "đ": "VND", "VNĐ": "VND", "฿": "THB", "บาท": "THB",
    "₱": "PHP", "RM": "MYR", "Rp": "IDR", "Rp.": "IDR", "₮": "MNT", "៛": "KHR", "₭": "LAK",
    "৳": "BDT", "টকা": "BDT", "Tk": "BDT", "؋": "AFN", "Ks": "MMK", "Nu.": "BTN", "Nu": "BTN",
    "Rf": "MVR", "ރ": "MVR", "Vt": "VUV", "VT": "VUV",
    # Middle East and North Africa
    "₪": "ILS", 'ש"ח': "ILS", "ש'ח": "ILS", "ש״ח": "ILS", "NIS": "ILS", "nis": "ILS",
    "KD": "KWD", "BD": "BHD", "QR": "QAR", "SR": "SAR", "Dhs": "AED", "Dh": "?AED MAD",
    "DH": "?MAD AED", "DT": "TND", "LD": "LYD", "JD": "JOD", "DA": "DZD",
    "د.إ": "AED", "د.ك": "KWD", ".د.ب": "BHD", "د.ب": "BHD", "ر.ع": "OMR", "ر.ق": "QAR",
    "ر.س": "SAR", "ر.ي": "YER", "د.أ": "JOD", "د.ا": "JOD", "د.ع": "IQD", "ع.د": "IQD",
    "د.ل": "LYD", "ل.د": "LYD", "د.ت": "TND", "د.ج": "DZD", "دج": "DZD", "د.م": "MAD",
    "ل.س": "SYP", "ل.ل": "LBP", "ج.م": "EGP", "ج.س": "SDG", "دينار كويتي": "KWD",
    "دينار أردني": "JOD", "دينار": "?KWD JOD BHD IQD LYD TND DZD", "درهم": "?AED MAD",
    "ريال": "?SAR QAR OMR YER", "ریال": "IRR", "﷼": "?SAR IRR QAR OMR YER", "جنيه": "?EGP SDG",
    # Africa and the Americas
    "R": "ZAR", "₦": "NGN", "₵": "GHS", "GH₵": "GHS", "GH¢": "GHS", "KSh": "KES", "Ksh": "KES",
    "KShs": "KES", "USh": "UGX", "TSh": "TZS", "FRw": "RWF", "R₣": "RWF", "FBu": "BIF",
    "Fbu": "BIF", "Fdj": "DJF", "GFr": "GNF", "FG": "GNF", "Nfk": "ERN", "ናቕፋ": "ERN",
    "ብር": "ETB", "CFA": "?XOF XAF", "FCFA": "?XOF XAF", "MK": "MWK", "ZK": "ZMW", "Kz": "AOA",
    "MT": "MZN", "Ar": "MGA", "UM": "MRU", "Db": "STN",
    "S/": "PEN", "S/.": "PEN", "B/.": "PAB", "Bs": "?VES BOB", "Bs.": "?VES BOB", "Q": "GTQ",
    "₡": "CRC", "₲": "PYG", "ƒ": "?AWG ANG", "Afl.": "AWG",
    # currencies without an ISO 4217 code of their own, kept so the raw symbol is reported
    "₤": "?GBP ITL", "₶": "?", "تومان": "?", "franc": "?CHF XOF XAF", "francs": "?CHF XOF XAF",
    "₿": "?", "Ƀ": "?", "BTC": "?",
    # minor units: the amount is in pence or cents
    "GBp": "GBP", "GBX": "GBP", "¢": "USD CAD AUD NZD",
}
_MINOR_UNITS: Final[frozenset[str]] = frozenset({"GBp", "GBX", "¢"})

# Symbols also recognised in other letter cases ("EURO", "Zł", "KR", "Lei").
_ANY_CASE: Final[frozenset[str]] = frozenset({
    "euro", "euros", "dollar", "dollars", "pound", "pounds", "yen", "yuan", "rupee", "rupees",
    "kr", "kr.", "zł", "zl", "kč", "lei", "лв", "лв.", "грн", "грн.", "руб", "руб.", "дин",
    "дин.", "ден", "ден.", "nis", "sfr", "sfr.", "lari", "тенге", "тг", "сом",
})

# Symbols that are everyday words or abbreviations too ("R", "MT", "km" is not "KM"):
# they count only when they stand right next to a number.
_WEAK: Final[frozenset[str]] = frozenset({
    "R", "Q", "р", "Р", "ლ", "ރ", "Rs", "Br", "TL", "zl", "Kc", "Ft", "FT", "kn", "KM", "DM",
    "Sk", "Lt", "Ls", "Tk", "Ks", "Nu", "Rf", "Vt", "VT", "KD", "BD", "QR", "SR", "Dh", "DH",
    "DT", "LD", "JD", "DA", "FG", "MK", "ZK", "Kz", "MT", "Ar", "UM", "Db", "Bs", "RM", "Rp",
    "din", "Din", "som", "stg", "lari", "pound", "pounds", "dollar", "dollars", "rupee",
    "rupees", "fr.", "Esc", "Pta", "Pts", "ƒ", "C$", "B$", "S/", "lei", "leu", "лей", "Lek",
    "Lekë", "сом", "Дин", "hrn",
})

# ISO codes that are also common words or brands ("ALL", "TRY", "AMD"): weak when upper-case.
_WORDLIKE_CODES: Final[frozenset[str]] = frozenset({
    "ALL", "AMD", "ANG", "BAM", "BOB", "CUP", "ERN", "GEL", "MAD", "MOP", "NAD", "PEN", "SOS",
    "STD", "TOP", "TRY", "TMT", "VED",
})

# ISO codes also recognised in lower or mixed case ("eur", "Chf"), next to a number only.
_ANY_CASE_CODES: Final[frozenset[str]] = frozenset({
    "EUR", "USD", "GBP", "CHF", "PLN", "CZK", "HUF", "SEK", "NOK", "DKK", "ISK", "RUB", "UAH",
    "BGN", "RON", "RSD", "MKD", "HRK", "INR", "JPY", "CNY", "AUD", "CAD", "NZD", "SGD", "HKD",
    "BRL", "MXN", "ZAR", "ILS", "AED", "SAR", "KWD", "QAR", "OMR", "BHD", "JOD", "MYR", "IDR",
    "THB", "VND", "KRW", "TWD", "KZT", "BYN",
})

# ISO 3166 country -> its currency (Bulgaria and Croatia have joined the euro).
_COUNTRY_CURRENCY: Final[dict[str, str]] = _pairs("""
AD:EUR AE:AED AF:AFN AG:XCD AI:XCD AL:ALL AM:AMD AO:AOA AR:ARS AS:USD AT:EUR AU:AUD AW:AWG
AX:EUR AZ:AZN BA:BAM BB:BBD BD:BDT BE:EUR BF:XOF BG:EUR BH:BHD BI:BIF BJ:XOF BL:EUR BM:BMD
BN:BND BO:BOB BQ:USD BR:BRL BS:BSD BT:BTN BW:BWP BY:BYN BZ:BZD CA:CAD CD:CDF CF:XAF CG:XAF
CH:CHF CI:XOF CK:NZD CL:CLP CM:XAF CN:CNY CO:COP CR:CRC CU:CUP CV:CVE CW:XCG CY:EUR CZ:CZK
DE:EUR DJ:DJF DK:DKK DM:XCD DO:DOP DZ:DZD EC:USD EE:EUR EG:EGP ER:ERN ES:EUR ET:ETB FI:EUR
FJ:FJD FK:FKP FM:USD FO:DKK FR:EUR GA:XAF GB:GBP GD:XCD GE:GEL GF:EUR GG:GBP GH:GHS GI:GIP
GL:DKK GM:GMD GN:GNF GP:EUR GQ:XAF GR:EUR GT:GTQ GU:USD GW:XOF GY:GYD HK:HKD HN:HNL HR:EUR
HT:HTG HU:HUF ID:IDR IE:EUR IL:ILS IM:GBP IN:INR IQ:IQD IR:IRR IS:ISK IT:EUR JE:GBP JM:JMD
JO:JOD JP:JPY KE:KES KG:KGS KH:KHR KI:AUD KM:KMF KN:XCD KP:KPW KR:KRW KW:KWD KY:KYD KZ:KZT
LA:LAK LB:LBP LC:XCD LI:CHF LK:LKR LR:LRD LS:LSL LT:EUR LU:EUR LV:EUR LY:LYD MA:MAD MC:EUR
MD:MDL ME:EUR MF:EUR MG:MGA MH:USD MK:MKD ML:XOF MM:MMK MN:MNT MO:MOP MP:USD MQ:EUR MR:MRU
MS:XCD MT:EUR MU:MUR MV:MVR MW:MWK MX:MXN MY:MYR MZ:MZN NA:NAD NC:XPF NE:XOF NF:AUD NG:NGN
NI:NIO NL:EUR NO:NOK NP:NPR NR:AUD NU:NZD NZ:NZD OM:OMR PA:PAB PE:PEN PF:XPF PG:PGK PH:PHP
PK:PKR PL:PLN PM:EUR PN:NZD PR:USD PS:ILS PT:EUR PW:USD PY:PYG QA:QAR RE:EUR RO:RON RS:RSD
RU:RUB RW:RWF SA:SAR SB:SBD SC:SCR SD:SDG SE:SEK SG:SGD SH:SHP SI:EUR SK:EUR SL:SLE SM:EUR
SN:XOF SO:SOS SR:SRD SS:SSP ST:STN SV:USD SX:XCG SY:SYP SZ:SZL TC:USD TD:XAF TG:XOF TH:THB
TJ:TJS TL:USD TM:TMT TN:TND TO:TOP TR:TRY TT:TTD TV:AUD TW:TWD TZ:TZS UA:UAH UG:UGX US:USD
UY:UYU UZ:UZS VA:EUR VC:XCD VE:VES VG:USD VI:USD VN:VND VU:VUV WF:XPF WS:WST XK:EUR YE:YER
YT:EUR ZA:ZAR ZM:ZMW ZW:ZWG
""")

# Top-level domains that are not a country, or are country codes sold as vanity names
# (.io, .co, .me, .tv): they say nothing about the shop's currency on their own.
_NEUTRAL_TLDS: Final[frozenset[str]] = frozenset({
    "ac", "ag", "ai", "am", "bz", "cc", "co", "cx", "fm", "gd", "gg", "gs", "im", "io", "la",
    "ly", "me", "ms", "nu", "sc", "sh", "so", "st", "tk", "to", "tv", "vc", "ws",
})
# Country-code domains that are not the country's ISO code.
_TLD_COUNTRY: Final[dict[str, str]] = {"uk": "GB", "su": "RU", "xn--p1ai": "RU"}
_TLD_CURRENCY: Final[dict[str, str]] = {"eu": "EUR"}
# Second-level labels under which even a vanity country code is a real country (shop.com.co).
_SECOND_LEVEL: Final[frozenset[str]] = frozenset({"com", "co", "net", "org", "ac", "gov", "edu"})

# Hosts on generic domains whose currency is known (subdomains match too).
_KNOWN_HOSTS: Final[dict[str, str]] = {
    "amazon.com": "USD", "ebay.com": "USD", "walmart.com": "USD", "target.com": "USD",
    "bestbuy.com": "USD", "newegg.com": "USD", "homedepot.com": "USD", "lowes.com": "USD",
    "costco.com": "USD", "bhphotovideo.com": "USD", "macys.com": "USD", "kohls.com": "USD",
    "wayfair.com": "USD", "samsclub.com": "USD", "cdiscount.com": "EUR", "fnac.com": "EUR",
    "darty.com": "EUR", "boulanger.com": "EUR", "ldlc.com": "EUR", "bol.com": "EUR",
    "asos.com": "GBP", "flipkart.com": "INR", "takealot.com": "ZAR", "jd.com": "CNY",
    "tmall.com": "CNY", "taobao.com": "CNY", "rakuten.com": "USD",
}

# Page language -> currency, only where one currency dominates the language's shops;
# English, Spanish, Portuguese and Arabic are spoken in too many currency areas.
_LANGUAGE_CURRENCY: Final[dict[str, str]] = _pairs("""
de:EUR fr:EUR it:EUR nl:EUR fi:EUR et:EUR lv:EUR lt:EUR el:EUR sk:EUR sl:EUR hr:EUR mt:EUR
ga:EUR lb:EUR ca:EUR eu:EUR gl:EUR bg:EUR pl:PLN cs:CZK hu:HUF ro:RON ru:RUB uk:UAH tr:TRY
sv:SEK nb:NOK nn:NOK no:NOK da:DKK is:ISK ja:JPY ko:KRW th:THB vi:VND id:IDR ms:MYR he:ILS
iw:ILS fa:IRR ka:GEL hy:AMD az:AZN kk:KZT sr:RSD mk:MKD sq:ALL be:BYN hi:INR zh:CNY
""")
# fmt: on


# Latin, Greek and Cyrillic words are found by tokenising; other symbols by one alternation.
_ALPHABETIC: Final = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+")


@dataclass(frozen=True, slots=True)
class CurrencySymbol:
    """What a symbol may stand for: candidate ISO codes and the default among them.

    `weak` symbols count only beside a number; `minor` ones count hundredths (pence, cents).
    """

    default: str | None
    candidates: frozenset[str]
    weak: bool = False
    minor: bool = False


@dataclass(frozen=True, slots=True)
class CurrencyMatch:
    """A currency symbol or code found in a text, with its position."""

    start: int
    end: int
    raw: str
    symbol: CurrencySymbol

    @property
    def specificity(self) -> int:
        """How much the match says: 3 for an ISO code, down to 0 for an unresolved symbol."""
        if len(self.symbol.candidates) == 1:
            return 3 if self.raw.upper() in ISO_4217 else 2
        return 1 if self.symbol.default else 0


def _symbol(raw: str, spec: str) -> CurrencySymbol:
    """Build a `CurrencySymbol` from a table entry such as 'kr': '?SEK NOK DKK'."""
    codes = spec.lstrip("?").split()
    default = None if spec.startswith("?") else codes[0]
    return CurrencySymbol(
        default=default,
        candidates=frozenset(codes),
        weak=raw in _WEAK,
        minor=raw in _MINOR_UNITS,
    )


def _letters_only(symbol: str) -> bool:
    """Tell whether `symbol` is a Latin, Greek or Cyrillic word (looked up after tokenising)."""
    return _ALPHABETIC.fullmatch(symbol) is not None


_SYMBOLS: Final[dict[str, CurrencySymbol]] = {
    raw: _symbol(raw, spec) for raw, spec in _SYMBOL_TABLE.items()
}
_SYMBOLS_ANY_CASE: Final[dict[str, CurrencySymbol]] = {
    raw.lower(): _SYMBOLS[raw] for raw in _SYMBOL_TABLE if raw.lower() in _ANY_CASE
}
_CODES: Final[dict[str, CurrencySymbol]] = {
    code: CurrencySymbol(default=code, candidates=frozenset({code})) for code in ISO_4217
}
_WEAK_CODES: Final[dict[str, CurrencySymbol]] = {
    code: CurrencySymbol(default=code, candidates=frozenset({code}), weak=True) for code in ISO_4217
}


# Letters of scripts written with spaces between words; CJK, Thai and Hangul are not.
_SPACED_LETTER: Final = r"[^\W\d_\u0e00-\u0e7f\u3040-\u9fff\uac00-\ud7af]"


def _spellings(symbol: str) -> set[str]:
    """The ways a non-word symbol may be written: its case variants and the final dot."""
    forms = {symbol}
    if symbol.lower() in _ANY_CASE:
        forms |= {symbol.lower(), symbol.upper(), symbol.capitalize()}
    if "." in symbol[1:-1]:
        forms |= {form + "." for form in forms}  # Arabic abbreviations: with or without it
    return forms


def _special_pattern(form: str) -> str:
    """Regex for one spelling, not matching when a letter follows a final letter."""
    pattern = re.escape(form)
    if re.match(_SPACED_LETTER, form[-1]):
        pattern += r"(?![^\W\d_])"
    return pattern


def _build_scanner() -> re.Pattern[str]:
    """One regex finding symbols that are not plain words, else a word to look up.

    Plain literals behind a first-character guard keep the alternation fast; a word consumed
    whole means a symbol is never found inside a longer word.
    """
    forms = {f for s in _SYMBOL_TABLE if not _letters_only(s) for f in _spellings(s)}
    first = "".join(sorted({re.escape(f[0]) for f in forms}))
    ordered = sorted(forms, key=len, reverse=True)
    alternation = "|".join(_special_pattern(f) for f in ordered)
    return re.compile(rf"(?=[{first}])(?P<special>{alternation})|(?P<word>{_SPACED_LETTER}+)")


_SCANNER: Final = _build_scanner()
# What may stand between a weak symbol and its number: "R 12", "Rs.: 12", "12,- kr".
_NUMBER_FOLLOWS: Final = re.compile(r"[ ]?[.:]?[ ]?\d")
_NUMBER_PRECEDES: Final = re.compile(r"\d(?:[.,]?[-–])?[ ]?$")


def _lookup_special(raw: str) -> CurrencySymbol | None:
    """Look up a matched non-word symbol, in its own case first."""
    found = _SYMBOLS.get(raw) or _SYMBOLS.get(raw.rstrip("."))
    return found or _SYMBOLS_ANY_CASE.get(raw.lower()) or _SYMBOLS_ANY_CASE.get(raw.lower() + ".")


def _lookup_word(word: str) -> CurrencySymbol | None:
    """Look up a word: a listed symbol, a symbol in any case, or an ISO 4217 code."""
    found = _SYMBOLS.get(word) or _SYMBOLS_ANY_CASE.get(word.lower())
    if found is not None:
        return found
    upper = word.upper()
    if upper not in ISO_4217:
        return None
    if word == upper:
        return _WEAK_CODES[upper] if upper in _WORDLIKE_CODES else _CODES[upper]
    return _WEAK_CODES[upper] if upper in _ANY_CASE_CODES else None


def _next_to_number(text: str, start: int, end: int) -> bool:
    """Tell whether the span stands right before or right after a number."""
    # Only the last few characters can hold "12,- ", so long texts stay linear.
    before = _NUMBER_PRECEDES.search(text, max(0, start - 5), start)
    return bool(before or _NUMBER_FOLLOWS.match(text, end))


def find_currencies(text: str) -> list[CurrencyMatch]:
    """Currency symbols and codes found in `text`, in order.

    Weak symbols ("R", "TL", word-like codes such as "ALL") count only next to a number, or when
    they are the whole text (a separate currency element such as "kr").
    """
    matches = []
    whole = text.strip()
    for m in _SCANNER.finditer(text):
        raw = m.group()
        symbol = _lookup_special(raw) if m.lastgroup == "special" else _lookup_word(raw)
        if symbol is None:
            continue
        start, end = m.span()
        if symbol.weak and raw != whole and not _next_to_number(text, start, end):
            continue
        matches.append(CurrencyMatch(start=start, end=end, raw=raw, symbol=symbol))
    return matches


def lookup_symbol(raw: str) -> CurrencySymbol | None:
    """What a single symbol, name or code such as 'kr', 'zł' or 'eur' may stand for."""
    raw = raw.strip()
    if _letters_only(raw):
        return _lookup_word(raw)
    return _lookup_special(raw)


def resolve(symbol: CurrencySymbol, *, context: str | None) -> str | None:
    """Pick the ISO code: the shop's own currency if the symbol allows it, else the default."""
    if context is not None and context in symbol.candidates:
        return context
    return symbol.default


def to_iso(raw: str, *, domain: str | None = None, language: str | None = None) -> str | None:
    """ISO 4217 code for a symbol such as '$' or 'kr', settled by the shop's domain or language."""
    symbol = lookup_symbol(raw)
    if symbol is None:
        return None
    return resolve(symbol, context=currency_for(domain=domain, language=language))


def _host(domain: str) -> str:
    """Bare lower-case host name of a domain or URL ('https://www.Amazon.de/x' -> 'amazon.de')."""
    domain = domain.strip().lower()
    if "/" in domain:
        domain = urlsplit(domain if "//" in domain else "//" + domain).hostname or ""
    domain = domain.split(":", 1)[0].rstrip(".")
    return domain.removeprefix("www.")


def country_for_domain(domain: str) -> str | None:
    """ISO 3166 country of a domain from its country-code TLD, or None for generic ones."""
    labels = _host(domain).split(".")
    if len(labels) < 2:
        return None
    tld = labels[-1]
    if tld in _TLD_COUNTRY:
        return _TLD_COUNTRY[tld]
    if len(tld) != 2 or not tld.isascii() or not tld.isalpha():
        return None
    if tld in _NEUTRAL_TLDS and not (len(labels) > 2 and labels[-2] in _SECOND_LEVEL):
        return None
    return tld.upper()


def _host_currency(domain: str) -> str | None:
    """Currency of a known host, or of the domain's country or top-level domain."""
    host = _host(domain)
    labels = host.split(".")
    for i in range(len(labels) - 1):
        known = _KNOWN_HOSTS.get(".".join(labels[i:]))
        if known is not None:
            return known
    if labels[-1] in _TLD_CURRENCY:
        return _TLD_CURRENCY[labels[-1]]
    country = country_for_domain(host)
    return _COUNTRY_CURRENCY.get(country) if country else None


def split_language(language: str) -> tuple[str, str | None]:
    """Split a language tag such as 'de-CH', 'pt_BR' or 'zh-Hant-TW' into (language, region)."""
    parts = language.strip().replace("_", "-").split("-")
    region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return parts[0].lower(), region


def _language_currency(language: str) -> str | None:
    """Currency implied by a page language: its region if given, else the language alone."""
    base, region = split_language(language)
    if region is not None:
        return _COUNTRY_CURRENCY.get(region)
    if base == "zh" and "hant" in language.lower():
        return None  # traditional Chinese: Taiwan, Hong Kong or Macau
    return _LANGUAGE_CURRENCY.get(base)


@lru_cache(maxsize=1024)
def currency_for(*, domain: str | None = None, language: str | None = None) -> str | None:
    """Default ISO 4217 currency of a shop, from its domain, else from its page language."""
    if domain:
        found = _host_currency(domain)
        if found is not None:
            return found
    return _language_currency(language) if language else None
