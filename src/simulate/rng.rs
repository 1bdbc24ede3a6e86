//! The simulation's random numbers: SplitMix64 (Steele, Lea and Flood, 2014;
//! the generator Vigna uses to seed xoshiro), written out here so that a seed
//! gives the same trace and the same boot delays on every platform and with
//! every version of this crate's dependencies. `rand`'s `StdRng` promises no
//! such stability across releases.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller; one of the pair is dropped for simplicity).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // in (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and shape `sigma`.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// An index drawn with probability proportional to its weight, given the
    /// running sums of the weights (the last one is the total).
    pub fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.uniform() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64() {
        // Vigna's splitmix64.c seeded with 1234567.
        let mut rng = Rng::new(1_234_567);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn uniform_stays_in_range_and_pick_follows_weights() {
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 3];
        let cumulative = [1.0, 1.0, 4.0]; // weights 1, 0, 3
        for _ in 0..10_000 {
            let u = rng.uniform();
            assert!((0.0..1.0).contains(&u));
            counts[rng.pick(&cumulative)] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never picked");
        assert!((2_200..2_800).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn log_normal_median_is_the_median() {
        let mut rng = Rng::new(42);
        let mut v: Vec<f64> = (0..20_001).map(|_| rng.log_normal(45.0, 0.7)).collect();
        v.sort_by(f64::total_cmp);
        assert!((42.0..48.0).contains(&v[10_000]), "{}", v[10_000]);
    }
}
