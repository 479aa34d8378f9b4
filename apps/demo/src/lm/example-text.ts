/**
 * The page's first text: written for this demo (no Penn Treebank sentence is shipped), in the training
 * text's vocabulary, and long enough that names and phrases come back — which is what the cache is for.
 */
export const EXAMPLE_TEXT = `The pension fund said it will sell its stake in the airline.
The airline said the pension fund had been a shareholder for many years.
Analysts said the sale of the stake could push the airline's shares lower.
The pension fund declined to comment on the price of the stake.
Shares of the airline fell 3 cents in early trading, and the pension fund said it expects to complete the sale next month.
A spokesman for the airline said the company would buy back some of the stake from the pension fund.`;
