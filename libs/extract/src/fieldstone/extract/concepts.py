"""Common business-document concepts: how templates describe them and how documents label them.

``cues`` are English phrases looked for in a variable's key and context to decide which concept the
variable means (weights may be negative to tell similar concepts apart). ``labels`` are the printed
labels in English, German, French, Dutch, Spanish, Italian, Portuguese and Polish, written folded
(lower case, no accents). Nothing here is specific to one vendor or document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ValueKind = Literal["id", "amount", "date", "text", "name", "code", "percent", "count", "any"]


@dataclass(frozen=True)
class Concept:
    name: str
    kind: ValueKind
    cues: dict[str, float]
    labels: tuple[str, ...]
    # Labels that contain one of these words belong to a more specific concept (e.g. "total" vs "total ht").
    position: Literal["top", "bottom", "any"] = "any"
    table_column: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _labels(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split("|") if s.strip())


CONCEPTS: tuple[Concept, ...] = (
    Concept(
        "invoice_number",
        "id",
        {
            "invoice number": 4,
            "invoice": 2,
            "number": 1,
            "reference number": 1,
            "invoice id": 3,
            "no": 0.5,
            "receipt number": 3,
            "bill number": 3,
            "document number": 2,
            "order": -3,
            "customer": -3,
            "account": -3,
        },
        _labels(
            "invoice number|invoice no|invoice nr|invoice num|invoice id|invoice #|invoice|bill number|bill no|"
            "receipt number|receipt no|document number|document no|tax invoice number|invoice reference|"
            "ticket no|ticket number|ticket n|numero de ticket|bonnummer|bon nr|kassenbon nr|quittung nr|"
            "rechnungsnummer|rechnungsnr|rechnung nr|rechnung|rechnungs nr|belegnummer|beleg nr|"
            "numero de facture|facture n|facture no|facture numero|n de facture|no de facture|facture|"
            "factuurnummer|factuurnr|factuur nr|factuur|"
            "faktura nr|faktura vat nr|numer faktury|nr faktury|faktura|"
            "numero de factura|factura n|factura no|n factura|factura|"
            "numero fattura|fattura n|fattura numero|n fattura|fattura|numero da fatura|fatura n"
        ),
    ),
    Concept(
        "invoice_date",
        "date",
        {
            "invoice date": 4,
            "date": 2,
            "issued": 2,
            "issue": 1.5,
            "invoice": 1,
            "due": -5,
            "order date": -3,
            "delivery": -3,
            "start": -3,
            "end": -3,
            "check": -3,
            "birth": -4,
            "period": -2,
            "first day": -3,
            "last day": -3,
            "payment": -2,
        },
        _labels(
            "invoice date|date of invoice|date of issue|issue date|issued on|date issued|invoice dated|bill date|"
            "billing date|document date|receipt date|date|dated|"
            "rechnungsdatum|belegdatum|ausstellungsdatum|datum|"
            "date de facture|date de la facture|date d emission|date de facturation|date|"
            "factuurdatum|factuur datum|datum factuur|datum|"
            "data wystawienia|data faktury|data|"
            "fecha de factura|fecha de emision|fecha|data fattura|data di emissione|data da fatura|data de emissao"
        ),
    ),
    Concept(
        "due_date",
        "date",
        {"due": 4, "payment due": 4, "due date": 5, "pay by": 3, "deadline": 2, "payable": 2},
        _labels(
            "due date|payment due|payment due date|date due|due on|due by|pay by|payable by|payment deadline|"
            "faelligkeitsdatum|faelligkeit|fallig am|faellig am|fallig|zahlbar bis|zahlungsziel|"
            "date d echeance|echeance|date limite de paiement|a payer avant le|a regler avant le|"
            "vervaldatum|vervaldag|uiterste betaaldatum|te betalen voor|betalen voor|uiterlijk betalen op|"
            "termin platnosci|fecha de vencimiento|vencimiento|data di scadenza|scadenza|data de vencimento"
        ),
    ),
    Concept(
        "total",
        "amount",
        {
            "total": 2,
            "amount due": 4,
            "grand total": 5,
            "total amount": 3,
            "including": 1.5,
            "gross": 2,
            "balance due": 4,
            "amount": 1,
            "to pay": 2,
            "paid": 1,
            "before tax": -6,
            "untaxed": -6,
            "net": -3,
            "excluding": -5,
            "subtotal": -6,
            "tax amount": -4,
            "total tax": -5,
            "vat amount": -5,
            "per ": -2,
            "unit": -4,
            "line": -4,
            "rooms": -4,
            "number of": -5,
            "discount": -4,
        },
        _labels(
            "total|total amount|total due|amount due|total amount due|grand total|balance due|total to pay|"
            "invoice total|total payable|amount payable|total incl vat|total including vat|total incl tax|"
            "total including tax|total gross|gross amount|amount paid|total paid|total price|"
            "gesamtbetrag|gesamtsumme|rechnungsbetrag|endbetrag|zu zahlen|zahlbetrag|summe|gesamt|"
            "bruttobetrag|gesamt brutto|rechnungsbetrag brutto|"
            "total ttc|montant ttc|net a payer|montant total|total a payer|montant a payer|montant du|"
            "totaal|totaalbedrag|te betalen|totaal incl btw|totaal te betalen|totaalprijs|factuur totaal|factuurbedrag|"
            "razem|do zaplaty|suma|razem do zaplaty|wartosc brutto|naleznosc|naleznosc ogolem|"
            "importe total|total a pagar|totale|totale fattura|importo totale|valor total"
        ),
        position="bottom",
    ),
    Concept(
        "subtotal",
        "amount",
        {
            "subtotal": 5,
            "net": 3,
            "before tax": 5,
            "untaxed": 5,
            "excluding": 4,
            "excl": 3,
            "pre tax": 4,
            "without tax": 4,
        },
        _labels(
            "subtotal|sub total|net amount|total net|net total|amount before tax|total excl vat|total excl tax|"
            "total excluding vat|total excluding tax|total before tax|untaxed amount|total without vat|"
            "amount without vat|total amount without vat|total exkl mwst|exkl mwst|total ohne mwst|"
            "total hors tva|hors tva|"
            "nettobetrag|netto|zwischensumme|summe netto|gesamt netto|nettosumme|gesamtbetrag netto|"
            "total ht|montant ht|sous total|total hors taxes|montant hors taxes|"
            "subtotaal|exclusief btw|totaal excl btw|excl btw|bedrag excl btw|"
            "wartosc netto|razem netto|base imponible|subtotale|imponibile|valor liquido"
        ),
        position="bottom",
    ),
    Concept(
        "tax_amount",
        "amount",
        {
            "tax": 3,
            "vat": 3,
            "gst": 3,
            "sales tax": 4,
            "tax amount": 5,
            "vat amount": 5,
            "total tax": 4,
            "rate": -4,
            "percent": -5,
            "id": -6,
            "identification": -6,
            "number": -4,
            "before": -5,
            "excluding": -5,
            "including": -4,
            "untaxed": -6,
        },
        _labels(
            "tax|vat|sales tax|gst|tax amount|vat amount|total tax|total vat|tax total|"
            "mwst|ust|umsatzsteuer|mehrwertsteuer|mwst betrag|"
            "tva|montant tva|total tva|btw|btw bedrag|totaal btw|"
            "podatek vat|kwota vat|iva|importe iva|imposta|valor iva"
        ),
        position="bottom",
    ),
    # Other dates, mainly so that their labels shadow the generic "date" of the invoice date.
    Concept(
        "order_date",
        "date",
        {"order date": 5, "date of the order": 5, "purchase date": 4, "ordered": 3},
        _labels(
            "order date|purchase date|date of order|bestelldatum|auftragsdatum|date de commande|orderdatum|"
            "besteldatum|data zamowienia|fecha de pedido|data ordine"
        ),
    ),
    Concept(
        "delivery_date",
        "date",
        {"delivery date": 5, "delivered": 3, "shipping date": 4, "ship date": 4, "service date": 3},
        _labels(
            "delivery date|ship date|shipping date|date of delivery|date of supply|service date|lieferdatum|"
            "leistungsdatum|date de livraison|leverdatum|leveringsdatum|data dostawy|data sprzedazy|"
            "fecha de entrega|data di consegna"
        ),
    ),
    Concept(
        "period",
        "date",
        {
            "billing period": 3,
            "service period": 3,
            "period": 2,
            "first day": 2,
            "last day": 2,
            "start": 1,
            "end": 1,
        },
        _labels(
            "billing period|service period|period|statement period|invoice period|leistungszeitraum|zeitraum|"
            "abrechnungszeitraum|periode|periode de facturation|factuurperiode|periode|okres|"
            "periodo de facturacion|periodo"
        ),
    ),
    Concept(
        "currency",
        "code",
        {"currency": 5, "iso 4217": 5},
        _labels("currency|currency code|waehrung|wahrung|devise|monnaie|valuta|waluta|moneda|divisa|moeda"),
    ),
    Concept(
        "vendor_name",
        "name",
        {
            "vendor": 4,
            "supplier": 4,
            "seller": 4,
            "issuer": 4,
            "issued the invoice": 4,
            "company": 1,
            "merchant": 3,
            "legal name": 2,
            "provider": 2,
            "from": 1,
            "name": 0.5,
            "customer": -4,
            "buyer": -4,
            "bill to": -4,
            "hotel": -3,
            "bank": -4,
            "address": -4,
            "street": -5,
            "city": -5,
            "email": -5,
            "website": -5,
            "phone": -5,
            "vat": -5,
            "tax": -5,
            "registration": -5,
            "iban": -5,
            "zip": -5,
        },
        _labels(
            "vendor|supplier|seller|sold by|issued by|from|service provider|merchant|company|"
            "lieferant|verkaeufer|verkaufer|rechnungssteller|fournisseur|vendeur|emetteur|"
            "leverancier|verkoper|sprzedawca|wystawca|proveedor|vendedor|fornitore|fornecedor"
        ),
    ),
    Concept(
        "customer_name",
        "name",
        {
            "customer": 4,
            "buyer": 4,
            "bill to": 4,
            "client": 3,
            "recipient": 3,
            "purchaser": 3,
            "id": -4,
            "number": -4,
            "address": -3,
        },
        _labels(
            "bill to|billed to|customer|client|buyer|sold to|invoice to|ship to|recipient|"
            "rechnungsempfaenger|rechnungsempfanger|kunde|empfaenger|client|acheteur|destinataire|facture a|"
            "klant|afnemer|factuuradres|nabywca|odbiorca|cliente|comprador|destinatario"
        ),
    ),
    Concept(
        "customer_id",
        "id",
        {
            "customer id": 5,
            "customer number": 5,
            "client id": 5,
            "account number": 4,
            "customer": 2,
            "client": 2,
            "account": 2,
            "id": 1,
        },
        _labels(
            "customer number|customer no|customer id|customer nr|client id|client number|account number|"
            "account no|account id|kundennummer|kundennr|kunden nr|kunden id|numero client|n client|"
            "id client|reference client|klantnummer|klantnr|debiteurnummer|numer klienta|nr klienta|"
            "numero de cliente|codice cliente"
        ),
    ),
    Concept(
        "order_number",
        "id",
        {"order": 4, "order number": 5, "order id": 5, "purchase order": 5, "po": 2, "booking": -2},
        _labels(
            "order number|order no|order id|order nr|order|po number|po no|purchase order|"
            "bestellnummer|bestellnr|auftragsnummer|auftragsnr|auftrag|bestellung|"
            "numero de commande|commande|n de commande|bon de commande|"
            "ordernummer|bestelnummer|order nummer|numer zamowienia|nr zamowienia|numero de pedido|pedido|"
            "numero ordine|ordine"
        ),
    ),
    Concept(
        "vat_id",
        "id",
        {
            "vat id": 5,
            "vat number": 5,
            "tax id": 5,
            "tax identification": 5,
            "vat": 2,
            "nip": 4,
            "tin": 3,
            "identification number": 2,
            "rate": -5,
            "amount": -5,
            "percent": -5,
            "gstin": -3,
        },
        _labels(
            "vat number|vat no|vat id|vat reg no|vat registration number|tax id|tax number|tin|vat|"
            "ust idnr|ust id nr|ust id|ustid|ustidnr|umsatzsteuer id|steuernummer|steuer nr|"
            "n tva|numero tva|tva intracommunautaire|n tva intracommunautaire|tva intracom|"
            "btw nummer|btw nr|btw id|btw|nip|numero iva|partita iva|p iva|cif|nif"
        ),
    ),
    Concept(
        "iban",
        "code",
        {"iban": 6, "bank account": 3},
        _labels(
            "iban|iban nr|iban number|bank account|bank account number|kontonummer|rekeningnummer|"
            "compte bancaire|numer konta|numero de cuenta|conto corrente"
        ),
    ),
    Concept(
        "bic", "code", {"bic": 6, "swift": 6}, _labels("bic|swift|swift code|bic swift|swift bic|bic code")
    ),
    Concept(
        "email",
        "text",
        {"email": 6, "e mail": 6, "mail": 3},
        _labels("email|e mail|mail|courriel|e mail adresse"),
    ),
    Concept(
        "website",
        "text",
        {"website": 6, "web": 4, "url": 4, "homepage": 5, "site": 3},
        _labels("website|web|internet|url|homepage|site web|site internet"),
    ),
    Concept(
        "phone",
        "text",
        {"phone": 6, "telephone": 6, "tel": 4, "mobile": 4},
        _labels("phone|telephone|tel|tel nr|mobile|telefon|telefoon|telefono|tlf|fon"),
    ),
    Concept(
        "payment_method",
        "text",
        {"payment method": 6, "payment type": 5, "paid by": 4, "payment mode": 5, "method": 2},
        _labels(
            "payment method|payment type|payment mode|paid by|paid via|zahlungsart|zahlungsform|zahlungsweise|"
            "mode de paiement|mode de reglement|moyen de paiement|betaalmethode|betaalwijze|"
            "forma platnosci|sposob platnosci|metodo de pago|forma de pago|metodo di pagamento"
        ),
    ),
    Concept(
        "siren",
        "id",
        {"siren": 6, "siret": 3, "rcs": 3},
        _labels("siren|rcs|r c s|siret"),
        extra={"digits": "9"},
    ),
    # Address parts: found from the layout of address blocks (address.py), or from labels.
    Concept(
        "street",
        "text",
        {"street": 5, "address line": 3, "house number": 2},
        _labels("street|street address|address|strasse|anschrift|adresse|rue|adres|straat|ulica|calle|via"),
    ),
    Concept(
        "postal_code",
        "code",
        {"postal code": 5, "zip": 5, "postcode": 5, "post code": 5, "plz": 5},
        _labels("zip|zip code|postal code|postcode|post code|plz|code postal|kod pocztowy|cap|cp"),
    ),
    Concept(
        "city",
        "text",
        {"city": 5, "town": 4, "municipality": 3},
        _labels("city|town|ort|stadt|ville|plaats|woonplaats|miasto|ciudad|citta|localite"),
    ),
    Concept(
        "state",
        "code",
        {"state": 4, "province": 4, "region": 3, "county": 2},
        _labels("state|province|region|county|bundesland|provincie"),
    ),
    Concept(
        "country",
        "text",
        {"country": 5, "iso 3166": 4},
        _labels("country|land|pays|kraj|pais|paese"),
    ),
    # Table columns (line items).
    Concept(
        "description",
        "text",
        {
            "description": 4,
            "item": 2,
            "name": 2,
            "product": 3,
            "service": 2,
            "article": 2,
            "text": 1,
            "code": -4,
            "number": -3,
            "unit": -3,
            "tax": -4,
            "rate": -4,
        },
        _labels(
            "description|item|item description|product|product name|service|article|details|designation|"
            "name|beschreibung|bezeichnung|artikel|artikelbezeichnung|leistung|produkt|"
            "designation|libelle|description|article|produit|omschrijving|artikel|product|"
            "nazwa|nazwa towaru|opis|descripcion|articulo|descrizione|articolo|descricao"
        ),
        table_column=True,
    ),
    Concept(
        "quantity",
        "count",
        {"quantity": 5, "qty": 5, "count": 2, "number of": 2, "units": 1, "rooms": 1},
        _labels(
            "quantity|qty|qte|units|pcs|count|menge|anzahl|stk|stueck|quantite|nombre|aantal|hoeveelheid|ilosc|"
            "hours|hrs|std|stunden|heures|uren|"
            "cantidad|cant|quantita|qta|quantidade"
        ),
        table_column=True,
    ),
    Concept(
        "unit_price",
        "amount",
        {
            "unit price": 6,
            "price per": 5,
            "price": 2,
            "rate": 1,
            "unit cost": 5,
            "unit": 1,
            "tax": -3,
            "total": -3,
            "line": -2,
        },
        _labels(
            "unit price|price|rate|price per unit|unit cost|each|einzelpreis|preis|vk preis|stueckpreis|"
            "e preis|prix unitaire|p u|pu|prix|pu ht|p u ht|prix ht|prijs per stuk|stukprijs|prijs|"
            "cena jedn|cena|precio unitario|precio|prezzo unitario|prezzo|preco unitario|preco"
        ),
        table_column=True,
    ),
    Concept(
        "line_total",
        "amount",
        {
            "line total": 6,
            "line amount": 6,
            "amount": 2,
            "total": 2,
            "subtotal": 2,
            "charge": 1,
            "unit": -4,
            "tax rate": -4,
            "percent": -4,
        },
        _labels(
            "amount|total|line total|subtotal|net amount|betrag|gesamt|gesamtpreis|zeilenbetrag|summe|"
            "montant|montant ht|total ht|bedrag|totaal|prijs incl btw|wartosc|wartosc netto|importe|"
            "importo|totale|valor"
        ),
        table_column=True,
    ),
    Concept(
        "tax_rate",
        "percent",
        {"tax rate": 6, "vat rate": 6, "rate": 2, "percent": 3, "tax": 1, "vat": 1},
        _labels(
            "vat|vat %|tax|taxes|tax %|vat rate|tax rate|gst %|mwst|mwst %|ust|ust %|steuer|tva|tva %|taux tva|btw|"
            "btw %|stawka vat|vat rate|iva|iva %"
        ),
        table_column=True,
    ),
    Concept(
        "discount",
        "percent",
        {"discount": 6, "rebate": 4},
        _labels("discount|disc|disc %|rabatt|rabatt %|remise|korting|rabat|descuento|sconto|desconto"),
        table_column=True,
    ),
    Concept(
        "item_code",
        "id",
        {"code": 4, "sku": 5, "article number": 4, "product code": 5, "item number": 4, "part number": 4},
        _labels(
            "code|sku|item no|item number|art no|article no|article number|product code|part no|part number|"
            "artikelnummer|artikelnr|art nr|artikel|article|reference|ref|referentie|artikelcode|kod|codigo|codice"
        ),
        table_column=True,
    ),
    Concept(
        "unit",
        "text",
        {"unit of measure": 6, "uom": 6, "unit": 2, "price": -4},
        _labels("unit|uom|einheit|me|unite|eenheid|jm|unidad|unita"),
        table_column=True,
    ),
)

CONCEPTS_BY_NAME: dict[str, Concept] = {c.name: c for c in CONCEPTS}
