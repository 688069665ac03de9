/**
 * Common English and Romance-language nicknames mapped to one formal name, so that `Will Smith`
 * and `William Smith` compare as the same first name. Keys and values are lowercase ASCII.
 * A short list on purpose: a nickname that is also a frequent formal name elsewhere (`Lena`) is
 * left out, since mapping it would merge different people.
 */
export const NICKNAMES: Readonly<Record<string, string>> = {
  will: 'william',
  bill: 'william',
  billy: 'william',
  ben: 'benjamin',
  benji: 'benjamin',
  dan: 'daniel',
  danny: 'daniel',
  gabe: 'gabriel',
  liv: 'olivia',
  tom: 'thomas',
  tommy: 'thomas',
  tomas: 'thomas',
  izzy: 'isabel',
  isabella: 'isabel',
  bea: 'beatriz',
  beatrice: 'beatriz',
  rafa: 'rafael',
  raphael: 'rafael',
  jules: 'julia',
  vale: 'valentina',
  tina: 'valentina',
  sam: 'samuel',
  sammy: 'samuel',
  jack: 'john',
  johnny: 'john',
  matt: 'matthew',
  alex: 'alexander',
  nick: 'nicholas',
  mike: 'michael',
  kate: 'katherine',
  katie: 'katherine',
  liz: 'elizabeth',
  beth: 'elizabeth',
  sofia: 'sophia',
  sophie: 'sophia',
  leo: 'leonardo',
};
