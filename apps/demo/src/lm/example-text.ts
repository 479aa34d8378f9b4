/**
 * The page's first text: written for this demo (no Penn Treebank sentence is shipped), in the training
 * text's vocabulary, long enough that names and phrases come back — which is what the cache is for — and
 * that the MemN2N, which predicts each word from the 200 before it, has 265 words to be compared on.
 */
export const EXAMPLE_TEXT = `The pension fund said it will sell its stake in the airline.
The airline said the pension fund had been a shareholder for many years.
Analysts said the sale of the stake could push the airline's shares lower.
The pension fund declined to comment on the price of the stake.
Shares of the airline fell 3 cents in early trading, and the pension fund said it expects to complete the sale next month.
A spokesman for the airline said the company would buy back some of the stake from the pension fund.
The airline has been under pressure since the summer, when fuel prices rose and several of its routes lost money.
Its chairman told shareholders last week that the company would cut costs and sell some of its older planes.
The company also said it is in talks with two banks about a new line of credit.
Some analysts said the talks show that the airline needs cash, but others said the company is simply preparing for a weak winter.
In the third quarter, the airline reported a loss of $ 12 million, compared with a profit of $ 20 million a year earlier.
Revenue fell 5 % to $ 800 million.
The pension fund, which manages money for state employees, has been selling stocks in recent months and buying bonds.
Its managers said they believe interest rates will fall next year, which would make bonds more attractive.
The fund also said it plans to increase its holdings of real estate.
Meanwhile, the stock market rose for the third day in a row, as investors bought shares of banks and computer companies.
The dow jones industrial average gained 15 points, and trading volume was heavy.
Bond prices were little changed, and the dollar fell against the yen.
Traders said the market was waiting for the government's report on jobs, due out friday.
Economists expect the report to show that the economy added about 150,000 jobs last month.
Back at the airline, the chairman said the company would announce the results of its review of costs by the end of the year.
He said the airline does not plan to cut jobs, but that it will not replace some workers who leave.
The union that represents the airline's pilots said it would fight any plan to cut pay.
The pension fund said the dispute with the pilots was not a reason for its decision to sell the stake.
It said it simply wanted to reduce its holdings of airline shares.
Shares of the airline closed at $ 18.50, down 25 cents, on the new york stock exchange.`;
