/**
 * The reference tree of transparency-dev/merkle (testonly/constants.go): eight leaf inputs, hex,
 * shared by the known-answer tests of the hashing, tree and proof modules.
 */
export const REFERENCE_LEAVES_HEX = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
] as const;
