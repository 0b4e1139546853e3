// The invariant-spreading loss and its gradient in plain JavaScript, written from the authors'
// released BatchCriterion (negM = 1), shared with nothing in lib/. There the scored rows x meet
// targets c that are constants (`x.t().data`, `reordered_x.data`): every score is s_ik = x_i . c_k / T.
// So the loss is a function L(x, c), and its two gradients are
//   - targets constant (the authors' form, stopGradientOnTargets): dL/dx at c = x;
//   - the equation as written: dL/dx + dL/dc at c = x.
// Finite differences cannot tell these apart through the library (they hold every stopGradient
// node fixed, so either placement agrees with them); this reference can.
//
// Row i's positive is p = i +- m. With Z_i = sum_{k != i} e^{s_ik}, P_ik = e^{s_ik} / Z_i and N_i
// the rows other than i and p:
//   L = -(1/2m) sum_i [ log P_ip + sum_{j in N_i} log(1 - P_ij) ],
//   dL/ds_ik = -(1/2m) [ [k = p] - P_ik - [k in N_i] odds_k + P_ik sum_{j in N_i} odds_j ]  (k != i),
// where odds_j = P_ij / (1 - P_ij).

export type Rows = readonly (readonly number[])[];

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, k) => s + v * b[k], 0);

const partnerOf = (i: number, m: number): number => (i < m ? i + m : i - m);

/**
 * Row i's exponentials e_ik (shifted by the row's largest score; 0 at k = i), their sum Z_i, and
 * for each j the sum of the others, Z_i - e_ij, added up directly: where one score dominates,
 * P_ij rounds to 1 and 1 - P_ij would be 0, while the others still hold its digits.
 */
const exponentials = (x: Rows, c: Rows, temperature: number, i: number) => {
  const scores = c.map((target, k) => (k === i ? -Infinity : dot(x[i], target) / temperature));
  const top = Math.max(...scores);
  const e = scores.map((s) => Math.exp(s - top));
  const z = e.reduce((a, b) => a + b, 0);
  const others = e.map((_, j) => e.reduce((a, v, k) => (k === j ? a : a + v), 0));
  return { e, z, others };
};

/** L(x, c): the scored rows x against the target rows c. log(1 - P_ij) is log(Z_i - e_ij) - log Z_i. */
export const batchCriterionLoss = (x: Rows, c: Rows, temperature: number): number => {
  const m = x.length / 2;
  let total = 0;
  for (let i = 0; i < 2 * m; i++) {
    const { e, z, others } = exponentials(x, c, temperature, i);
    total += Math.log(e[partnerOf(i, m)]) - Math.log(z);
    for (let j = 0; j < 2 * m; j++) if (j !== i && j !== partnerOf(i, m)) total += Math.log(others[j]) - Math.log(z);
  }
  return -total / (2 * m);
};

/**
 * dL/ds_ik, [2m][2m], 0 on the diagonal. Written so that nothing cancels where one score
 * dominates: P_ij / (1 - P_ij) is e_ij / (Z_i - e_ij), and the formula's terms regrouped as
 *   k = p:      1 - P_ip + P_ip sum_{j in N_i} odds_j,  with 1 - P_ip = (Z_i - e_ip) / Z_i;
 *   k in N_i:   P_ik (sum_{j in N_i, j != k} odds_j - 2),  since odds_k (1 - P_ik) = P_ik.
 */
const scoreGradient = (x: Rows, c: Rows, temperature: number): number[][] => {
  const m = x.length / 2;
  return x.map((_, i) => {
    const { e, z, others } = exponentials(x, c, temperature, i);
    const partner = partnerOf(i, m);
    const odds = e.map((v, j) => (j !== i && j !== partner ? v / others[j] : 0));
    const oddsExcept = (k: number) => odds.reduce((a, v, j) => (j === k ? a : a + v), 0);
    return e.map((v, k) => {
      const p = v / z;
      const d = k === i ? 0 : k === partner ? others[k] / z + p * oddsExcept(k) : p * (oddsExcept(k) - 2);
      return -d / (2 * m);
    });
  });
};

/** The gradient with respect to the rows, [2m][d]: with the targets constant, or through them too. */
export const batchCriterionGradient = (rows: Rows, temperature: number, { targetsConstant }: { targetsConstant: boolean }): number[][] => {
  const g = scoreGradient(rows, rows, temperature);
  return rows.map((row, i) =>
    row.map((_, column) => {
      // Through the scored row: sum_k dL/ds_ik c_k / T; through the targets: sum_k dL/ds_ki x_k / T.
      let total = 0;
      for (let k = 0; k < rows.length; k++) total += (g[i][k] + (targetsConstant ? 0 : g[k][i])) * rows[k][column];
      return total / temperature;
    }),
  );
};
