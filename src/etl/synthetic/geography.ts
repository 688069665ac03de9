/**
 * A small built-in world for synthetic customers: regions with countries and cities (weights are
 * rough population shares inside a region), phone prefixes, and name lists. Values never contain
 * a comma, quote or newline, so CSV writers can emit them unquoted (checked at load time below).
 */

export interface Country {
  readonly name: string;
  readonly phonePrefix: string;
  readonly weight: number;
  readonly cities: readonly string[];
}

export interface Region {
  readonly name: string;
  readonly countries: readonly Country[];
}

export const REGIONS: readonly Region[] = [
  {
    name: 'Europe',
    countries: [
      { name: 'Germany', phonePrefix: '+49', weight: 4, cities: ['Berlin', 'Hamburg', 'Munich', 'Cologne'] },
      { name: 'France', phonePrefix: '+33', weight: 3, cities: ['Paris', 'Lyon', 'Marseille'] },
      { name: 'United Kingdom', phonePrefix: '+44', weight: 3, cities: ['London', 'Manchester', 'Leeds'] },
      { name: 'Spain', phonePrefix: '+34', weight: 2, cities: ['Madrid', 'Barcelona', 'Valencia'] },
      { name: 'Poland', phonePrefix: '+48', weight: 1, cities: ['Warsaw', 'Krakow'] },
    ],
  },
  {
    name: 'North America',
    countries: [
      {
        name: 'United States',
        phonePrefix: '+1',
        weight: 8,
        cities: ['New York', 'Chicago', 'Austin', 'Seattle', 'Atlanta'],
      },
      { name: 'Canada', phonePrefix: '+1', weight: 2, cities: ['Toronto', 'Vancouver', 'Montreal'] },
      { name: 'Mexico', phonePrefix: '+52', weight: 2, cities: ['Mexico City', 'Guadalajara', 'Monterrey'] },
    ],
  },
  {
    name: 'South America',
    countries: [
      { name: 'Brazil', phonePrefix: '+55', weight: 5, cities: ['Sao Paulo', 'Rio de Janeiro', 'Curitiba'] },
      { name: 'Argentina', phonePrefix: '+54', weight: 2, cities: ['Buenos Aires', 'Cordoba'] },
      { name: 'Chile', phonePrefix: '+56', weight: 1, cities: ['Santiago', 'Valparaiso'] },
      { name: 'Colombia', phonePrefix: '+57', weight: 2, cities: ['Bogota', 'Medellin'] },
    ],
  },
  {
    name: 'Asia Pacific',
    countries: [
      { name: 'Japan', phonePrefix: '+81', weight: 4, cities: ['Tokyo', 'Osaka', 'Nagoya'] },
      { name: 'Australia', phonePrefix: '+61', weight: 2, cities: ['Sydney', 'Melbourne', 'Brisbane'] },
      { name: 'India', phonePrefix: '+91', weight: 4, cities: ['Mumbai', 'Bangalore', 'Delhi'] },
      { name: 'Singapore', phonePrefix: '+65', weight: 1, cities: ['Singapore'] },
    ],
  },
];

export const REGION_NAMES: readonly string[] = REGIONS.map((r) => r.name);

function words(text: string): readonly string[] {
  return text.split(' ');
}

export const FIRST_NAMES: readonly string[] = words(
  'Anna Ben Carla David Elena Felix Grace Hugo Ines Jonas Kira Liam Maria Noah Olivia Paul ' +
    'Quinn Rosa Sam Tara Umar Vera Will Xenia Yusuf Zoe Aiko Bruno Chen Diego Emma Farah ' +
    'Gabriel Hana Ivan Julia Kenji Lucia Mateo Nina Omar Priya Rafael Sofia Tomas Valentina Wei ' +
    'Yara Arjun Beatriz Camille Daniel Eva Finn Greta Hiro Isabel Jack Lena Marco Nora Oscar ' +
    'Pia Ravi Sara Theo Ana Leo Mia Luca',
);

export const LAST_NAMES: readonly string[] = words(
  'Schmidt Martin Smith Garcia Kowalski Johnson Tremblay Hernandez Silva Fernandez Gonzalez ' +
    'Rodriguez Tanaka Williams Patel Tan Muller Dubois Brown Lopez Nowak Miller Roy Martinez ' +
    'Santos Romero Rojas Gomez Sato Taylor Sharma Lim Weber Bernard Jones Sanchez Wisniewski ' +
    'Davis Gagnon Perez Oliveira Diaz Munoz Vargas Suzuki Wilson Singh Ng Fischer Moreau Evans ' +
    'Ruiz Lewandowski Clark Wong Castro Costa Alvarez Herrera Lee Kato Walker Kumar Chua Becker ' +
    'Laurent Wright Moreno Hall Young',
);

export const COMPANY_SUFFIXES: readonly string[] = words(
  'Trading Holdings Supplies Group Partners Labs Works Retail Services Studio',
);

export const EMAIL_DOMAINS: readonly string[] = ['example.com', 'example.net', 'example.org'];

for (const text of [
  ...REGIONS.flatMap((r) => [r.name, ...r.countries.flatMap((c) => [c.name, ...c.cities])]),
  ...FIRST_NAMES,
  ...LAST_NAMES,
  ...COMPANY_SUFFIXES,
]) {
  // CSV writers emit these unquoted and one byte per character
  if (/[^\x20-\x7e]|[",]/.test(text)) throw new Error(`geography value is not plain CSV-safe ASCII: ${text}`);
}
