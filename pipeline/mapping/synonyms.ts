/**
 * Header names that mean a canonical field, in English, German, French, Spanish,
 * Italian, Portuguese and Dutch, as people and exporting programs write them.
 * `init` compares them after `headerKey()` (lower case, accents and punctuation gone),
 * so "E-Mail-Adresse", "e-mail adresse" and "EMAIL_ADRESSE" are one entry.
 */

export type HeaderRole =
  | 'id' | 'name' | 'nameAmbiguous' | 'firstName' | 'lastName' | 'company' | 'title' | 'address'
  | 'street' | 'city' | 'region' | 'postalCode' | 'country'
  | 'owner' | 'email' | 'phone' | 'website' | 'twitter' | 'photoUrl' | 'notPhone';

/** Phone labels, from the header ("Handy" is a mobile, "Business Phone" is work). */
export type PhoneLabel = 'mobile' | 'work' | 'home' | 'main' | 'other';

/**
 * `secondary`: a phone the header says is not the main one ("Other Phone", "Alternate
 * Phone"); unlabelled like a plain "Phone", but drafted after every other phone.
 */
export interface HeaderMeaning { role: HeaderRole; label?: PhoneLabel; secondary?: true }

/** Lower case, accents removed, anything but letters and digits turned into single spaces. */
export function headerKey(h: string): string {
  return h.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** The key without numbers ("E-mail 2 Address" -> "e mail address", "Phone 1 - Value" -> "phone value"). */
export function headerKeyNoDigits(h: string): string {
  return headerKey(h).replace(/\b\d+\b/g, ' ').replace(/\s+/g, ' ').trim();
}

const TABLE: Record<string, string[]> = {
  id: ['id', 'external id', 'contact id', 'record id', 'customer id', 'customer number', 'client id', 'uid', 'crm id',
    'kundennummer', 'kunden nr', 'kundennr', 'kontakt id', 'id client', 'numero client', 'no client', 'identifiant',
    'id cliente', 'codigo cliente', 'numero cliente', 'codice cliente', 'klantnummer', 'klant id', 'relatienummer'],
  // Full names. "Name"/"Nom"/"Nombre"/"Nome"/"Naam" are ambiguous (see nameAmbiguous).
  name: ['full name', 'display name', 'contact name', 'formatted name', 'contact', 'fn',
    'vollstandiger name', 'anzeigename', 'kontaktname', 'nom complet', 'nom et prenom', 'nombre completo', 'nombre y apellidos',
    'nome completo', 'nominativo', 'volledige naam', 'weergavenaam'],
  nameAmbiguous: ['name', 'nom', 'nombre', 'nome', 'naam'],
  firstName: ['first name', 'firstname', 'given name', 'forename', 'first', 'vorname', 'prenom', 'nombre de pila',
    'primeiro nome', 'nome proprio', 'voornaam', 'roepnaam'],
  lastName: ['last name', 'lastname', 'surname', 'family name', 'last', 'nachname', 'familienname', 'nom de famille',
    'apellido', 'apellidos', 'primer apellido', 'cognome', 'sobrenome', 'apelido', 'ultimo nome', 'achternaam'],
  company: ['company', 'company name', 'organization', 'organisation', 'organization name', 'organisation name',
    'organization name', 'account name', 'account', 'employer', 'business name', 'org',
    'firma', 'firmenname', 'unternehmen', 'organisation', 'societe', 'entreprise', 'raison sociale',
    'empresa', 'compania', 'organizacion', 'azienda', 'societa', 'ragione sociale', 'organizzazione',
    'organizacao', 'bedrijf', 'bedrijfsnaam', 'organisatie'],
  title: ['job title', 'title', 'position', 'role', 'job', 'organization title', 'jobtitle',
    'funktion', 'position', 'berufsbezeichnung', 'stellung', 'titre', 'fonction', 'poste', 'intitule du poste',
    'cargo', 'puesto', 'titulo', 'ruolo', 'qualifica', 'mansione', 'funcao', 'functie', 'functietitel'],
  address: ['address', 'full address', 'postal address', 'mailing address', 'address formatted',
    'anschrift', 'adresse', 'adresse postale', 'direccion', 'domicilio', 'indirizzo', 'endereco', 'morada', 'adres'],
  street: ['street', 'street address', 'address line', 'mailing street', 'business street', 'address street',
    'strasse', 'str', 'rue', 'calle', 'via', 'rua', 'straat'],
  city: ['city', 'town', 'mailing city', 'business city', 'address city', 'ort', 'stadt', 'ville', 'ciudad', 'localidad',
    'citta', 'cidade', 'plaats', 'woonplaats'],
  region: ['state', 'region', 'province', 'state region', 'mailing state province', 'business state', 'address region',
    'bundesland', 'departement', 'provincia', 'estado', 'provincie'],
  postalCode: ['zip', 'zip code', 'postal code', 'postcode', 'post code', 'mailing zip postal code', 'business postal code',
    'address postal code', 'plz', 'postleitzahl', 'code postal', 'cp', 'codigo postal', 'cap', 'codice postale', 'cep'],
  country: ['country', 'country region', 'country code', 'mailing country', 'business country region', 'home country region',
    'address country', 'land', 'pays', 'pais', 'paese', 'nazione', 'nation'],
  owner: ['owner', 'owner email', 'contact owner', 'account owner', 'record owner', 'assigned to', 'assigned user',
    'sales rep', 'agent', 'agent email', 'user email', 'besitzer', 'zustandig', 'betreuer', 'verantwortlich',
    'proprietaire', 'responsable', 'propietario', 'asignado a', 'proprietario', 'assegnato a', 'responsavel',
    'eigenaar', 'toegewezen aan'],
  email: ['email', 'e mail', 'email address', 'e mail address', 'e mail value', 'mail', 'emails', 'email value',
    'work email', 'home email', 'business email', 'personal email', 'other email', 'primary email', 'icloud email',
    'e mail adresse', 'emailadresse', 'mailadresse', 'courriel', 'adresse e mail', 'adresse email', 'adresse electronique',
    'mel', 'correo', 'correo electronico', 'email correo', 'posta elettronica', 'indirizzo email', 'indirizzo e mail',
    'endereco de email', 'endereco de e mail', 'endereco eletronico', 'e mailadres', 'emailadres'],
  website: ['website', 'web site', 'web page', 'webpage', 'url', 'homepage', 'home page', 'website url', 'website value',
    'personal web page', 'site', 'webseite', 'internetseite', 'site web', 'site internet', 'sitio web', 'pagina web',
    'sito web', 'sito internet', 'sitio', 'pagina'],
  twitter: ['twitter', 'twitter handle', 'twitter username', 'x handle'],
  photoUrl: ['photo', 'photo url', 'picture', 'avatar', 'image url', 'foto'],
  // Numbers nobody calls: never mapped as phones, even though their values parse as phones.
  notPhone: ['fax', 'business fax', 'home fax', 'other fax', 'work fax', 'telefax', 'pager', 'telex', 'tty tdd phone',
    'isdn', 'radio phone', 'callback', 'assistant s phone', 'telecopie', 'telecopieur', 'fax number'],
};

const PHONES: Record<PhoneLabel, string[]> = {
  mobile: ['mobile', 'mobile phone', 'mobile number', 'mobile phone number', 'cell', 'cell phone', 'cellphone', 'cellular',
    'iphone', 'mobile value', 'car phone',
    'handy', 'handynummer', 'mobil', 'mobiltelefon', 'mobilnummer', 'mobilfunk', 'telefon mobil',
    'portable', 'tel portable', 'telephone portable', 'telephone mobile', 'mobile perso', 'gsm',
    'movil', 'celular', 'telefono movil', 'numero movil', 'cellulare', 'telefono cellulare', 'numero cellulare',
    'telemovel', 'telefone celular', 'mobiel', 'mobiel nummer', 'mobiele telefoon', 'mobielnummer'],
  work: ['work', 'work phone', 'business phone', 'office phone', 'office', 'phone work', 'direct line', 'direct dial',
    'company phone', 'telefon geschaftlich', 'geschaftlich', 'telefon buro', 'durchwahl', 'dienstlich',
    'telephone professionnel', 'tel pro', 'tel bureau', 'telephone bureau', 'ligne directe', 'telefono trabajo',
    'telefono oficina', 'telefono del trabajo', 'telefono ufficio', 'telefono lavoro', 'telefone comercial',
    'telefone trabalho', 'telefoon werk', 'werk', 'zakelijk', 'telefoon zakelijk'],
  home: ['home', 'home phone', 'home phone number', 'private phone', 'personal phone', 'telefon privat', 'privat',
    'telephone domicile', 'tel domicile', 'telephone personnel', 'telefono casa', 'telefono particular', 'telefono fijo',
    'telefono abitazione', 'telefone residencial', 'telefone fixo', 'telefoon thuis', 'thuis', 'prive'],
  main: ['main', 'main phone', 'primary phone', 'company main phone', 'switchboard', 'zentrale', 'standard', 'centralino', 'centralita'],
  other: ['phone', 'phone number', 'phone value', 'telephone', 'telephone number', 'tel', 'tel no', 'phone no',
    'contact number', 'number', 'telefon', 'telefonnummer', 'rufnummer', 'fon', 'tel nr', 'numero de telephone',
    'telefono', 'numero de telefono', 'numero di telefono', 'telefone', 'numero de telefone', 'telefoon',
    'telefoonnummer', 'nummer'],
};

/** Phones the header calls secondary (unlabelled, drafted last). */
const SECONDARY_PHONES = ['other phone', 'other number', 'alternate phone', 'alternative phone', 'alt phone', 'secondary phone',
  'second phone', 'additional phone', 'weitere telefonnummer', 'autre telephone', 'otro telefono', 'altro telefono', 'outro telefone',
  'ander telefoonnummer', 'overig telefoonnummer'];

const LOOKUP = new Map<string, HeaderMeaning>();
for (const [label, names] of Object.entries(PHONES) as [PhoneLabel, string[]][]) {
  for (const n of names) LOOKUP.set(n, { role: 'phone', label: label === 'other' ? undefined : label });
}
for (const n of SECONDARY_PHONES) LOOKUP.set(n, { role: 'phone', secondary: true });
for (const [role, names] of Object.entries(TABLE) as [HeaderRole, string[]][]) {
  for (const n of names) if (!LOOKUP.has(n)) LOOKUP.set(n, { role });
}

/**
 * What a header means, if the table knows it: the exact key first, then without its
 * numbers ("E-mail 2 Address", "Phone 1 - Value"), then with a leading qualifier such as
 * "Business" / "Mailing" / "Address 1 -" removed ("Business Street" -> "street").
 */
export function lookupHeader(header: string): HeaderMeaning | undefined {
  const key = headerKey(header);
  if (!key) return undefined;
  const direct = LOOKUP.get(key) ?? LOOKUP.get(headerKeyNoDigits(header))
    // A plural names the same thing: "Other Phones", "Emails", "Phone Numbers".
    ?? (key.endsWith('s') ? LOOKUP.get(key.slice(0, -1)) : undefined);
  if (direct) return direct;
  const words = headerKeyNoDigits(header).split(' ');
  for (let i = 1; i < words.length; i++) {
    const rest = LOOKUP.get(words.slice(i).join(' '));
    // Only address parts and phones/emails survive a dropped qualifier: "Home City" is a city,
    // but "Company Name Yomi" is not a company.
    if (rest && ['street', 'city', 'region', 'postalCode', 'country', 'phone', 'email', 'notPhone'].includes(rest.role)) return rest;
  }
  return undefined;
}

/** Honorifics: a "Title" column holding these is a name prefix (Outlook), not a job title. */
export const HONORIFICS = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'herr', 'frau', 'm', 'mme', 'mlle',
  'sr', 'sra', 'srta', 'sig', 'sigra', 'dhr', 'mevr', 'dott', 'dottssa', 'ing']);
