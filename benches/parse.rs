//! Headers parsed per second: reauth's parser against http-auth's on the same inputs, in one
//! run, blocks alternated so that both see the same machine state. Run with
//! `cargo bench --bench parse`. Prints a median of 11 rounds with min and max.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::hint::black_box;
    use std::time::Instant;

    // Realistic headers both parsers accept (no token68, ASCII only).
    const HEADERS: &[&str] = &[
        "Bearer realm=\"example\", error=\"invalid_token\", error_description=\"The access token expired\"",
        "Bearer realm=\"example\"",
        "Bearer error=\"insufficient_scope\", scope=\"openid profile email\"",
        "Basic realm=\"simple\", Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\"",
        "Digest realm=\"example.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"",
        "DPoP algs=\"ES256 PS256\", error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof\"",
        "Basic realm=\"foo\"",
    ];
    const ITERS: usize = 20_000;

    fn ours() -> usize {
        let mut n = 0;
        for _ in 0..ITERS {
            for h in HEADERS {
                for c in reauth::ChallengeParser::new(black_box(h)) {
                    n += c.map(|c| c.params.len()).unwrap_or(0);
                }
            }
        }
        n
    }
    fn theirs() -> usize {
        let mut n = 0;
        for _ in 0..ITERS {
            for h in HEADERS {
                for c in http_auth::ChallengeParser::new(black_box(h)) {
                    n += c.map(|c| c.params.len()).unwrap_or(0);
                }
            }
        }
        n
    }
    fn rate(f: fn() -> usize) -> f64 {
        let t = Instant::now();
        black_box(f());
        (ITERS * HEADERS.len()) as f64 / t.elapsed().as_secs_f64()
    }
    assert_eq!(ours(), theirs(), "both parsers see the same parameters");

    let (mut a, mut b, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..11 {
        // Alternate which goes first.
        let (x, y) = if round % 2 == 0 {
            let x = rate(ours);
            (x, rate(theirs))
        } else {
            let y = rate(theirs);
            (rate(ours), y)
        };
        a.push(x);
        b.push(y);
        ratio.push(x / y);
    }
    fn stats(v: &mut [f64]) -> (f64, f64, f64) {
        v.sort_by(|x, y| x.total_cmp(y));
        (v[v.len() / 2], v[0], v[v.len() - 1])
    }
    let (am, amin, amax) = stats(&mut a);
    let (bm, bmin, bmax) = stats(&mut b);
    let (rm, rmin, rmax) = stats(&mut ratio);
    println!(
        "headers/s  reauth    {:>10.0}  (min {:.0}, max {:.0})",
        am, amin, amax
    );
    println!(
        "headers/s  http-auth {:>10.0}  (min {:.0}, max {:.0})",
        bm, bmin, bmax
    );
    println!(
        "ratio reauth/http-auth  {:.2}x  (min {:.2}, max {:.2})",
        rm, rmin, rmax
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
