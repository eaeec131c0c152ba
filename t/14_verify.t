# PrepVerify end to end.  sha256 (feed sumas): a package with its
# sha256sum sidecar NAME.sha256 is taken, also when the sidecar arrives
# after it; a wrong or malformed sidecar is refused (verify); a package
# without one waits for it (about a minute) and is then refused.
# signature PUBKEY.pem (feeds firma-rsa, firma-ec, firma-ed; the keys are
# made by PrepTest::Run in t/prep/keys/ before the server starts): a
# detached signature NAME.sig made with `openssl dgst -sha256 -sign` (RSA,
# ECDSA P-256) or `openssl pkeyutl -sign -rawin` (Ed25519, which signs the
# message itself) is taken; a damaged signature, a signature of other bytes
# and a signature by another key are refused (verify).  A refused package
# goes to STORE/rejected/ with its sidecar, and the corte stays.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Copy ();
use PrepTest;

my $tmp  = tmp_dir();
my $keys = t_dir() . '/prep/keys';
my $SIDECAR_WAIT = 61;   # PREP_SIDECAR_WAIT in prep.h, plus PrepSettleTime

sub pkg {
    my ($name, $hhmm, $seed) = @_;
    return make_package(out => "$tmp/$name", corte => "2024-06-02T$hhmm:00-06:00",
                        seed => $seed, files => 60);
}

sub served_time {
    my $f = status_feed(shift) or return '';
    return ref $f->{corte} eq 'HASH' ? $f->{corte}{time} // '' : '';
}

sub check_refused {
    my ($feed, $name, $what, $timeout, $sidecar) = @_;
    my $before = corte_id($feed);
    my $rej = wait_rejected($feed, $name, $timeout // 20);
    unless (ok $rej, "$what: refused") {
        diag explain status_feed($feed);
        return undef;
    }
    is $rej->{reason}, 'verify', "$what: reason verify"
        or diag 'message: ' . ($rej->{message} // '');
    my $inc = incoming($feed);
    my $sto = store($feed);
    ok wait_for(5, sub { -e "$sto/rejected/$name" }), "$what: moved to STORE/rejected/";
    like(-e "$sto/rejected/$name.reason" ? slurp("$sto/rejected/$name.reason") : '',
         qr/^verify: \S/, "$what: NAME.reason says verify");
    ok -e "$sto/rejected/$name$sidecar", "$what: its $sidecar went along" if $sidecar;
    is corte_id($feed), $before, "$what: the served corte is unchanged";
    return $rej;
}

sub openssl { system(@_) == 0 or die "openssl failed: @_\n" }

# ---------------------------------------------------------------- sha256

my $s_inc = incoming('sumas');
my $s_sto = store('sumas');
my $t_missing = time;
my $missing = 'SUMAS_2050_sin_suma.tar.gz';
upload_renamed(pkg($missing, '20:50', 140), 'sumas');

# The sidecar arrives after the package: it is waited for.
{
    my $name = 'SUMAS_2100.tar.gz';
    my $p = pkg($name, '21:00', 141);
    my $old = corte_id('sumas');
    upload_renamed($p, 'sumas');
    sleep 3;
    ok !defined corte_id('sumas') || (corte_id('sumas') // '') eq ($old // ''),
        'sha256: a package without its sidecar is not taken at once';
    ok -e "$s_inc/$name", 'sha256: it waits in INCOMING';
    spit("$s_inc/$name.sha256", sha256_file($p) . "  $name\n");
    my $f = wait_new_corte('sumas', $old, 20);
    ok $f, 'sha256: taken once its sidecar arrives' or diag explain status_feed('sumas');
    is $f && $f->{corte}{time}, '2024-06-02T21:00:00-06:00', 'sha256: its corte is served';
    ok -e "$s_sto/processed/$name.sha256", 'sha256: the sidecar is kept in STORE/processed/';
}

# Wrong digest: the SHA-256 of another package.
{
    my $name = 'SUMAS_2105_mal.tar.gz';
    my $p = pkg($name, '21:05', 142);
    my $other = pkg('otro.tar.gz', '21:05', 143);
    spit("$s_inc/$name.sha256", sha256_file($other) . "  $name\n");
    upload_renamed($p, 'sumas');
    my $rej = check_refused('sumas', $name, 'sha256: wrong digest', 20, '.sha256');
    like $rej->{message} // '', qr/\Q$name\E/, 'sha256: the message names the package' if $rej;
}

# Not a digest at all.
{
    my $name = 'SUMAS_2106_basura.tar.gz';
    my $p = pkg($name, '21:06', 144);
    spit("$s_inc/$name.sha256", "esto no es una suma  $name\n");
    upload_renamed($p, 'sumas');
    check_refused('sumas', $name, 'sha256: malformed sidecar', 20, '.sha256');
}

# Upper-case hex and the binary-mode " *NAME" of sha256sum -b: accepted.
{
    my $name = 'SUMAS_2110.tar.gz';
    my $p = pkg($name, '21:10', 145);
    spit("$s_inc/$name.sha256", uc(sha256_file($p)) . " *$name\n");
    my ($f) = upload_and_wait($p, 'sumas', timeout => 20);
    ok $f, 'sha256: upper-case hex, " *NAME": taken' or diag explain status_feed('sumas');
    is served_time('sumas'), '2024-06-02T21:10:00-06:00', 'sha256: and served';
}

# ---------------------------------------------------------------- signatures

my %sign = (
    rsa => sub { my ($key, $p) = @_; openssl(qw(openssl dgst -sha256 -sign), $key, '-out', "$p.sig", $p) },
    ec  => sub { my ($key, $p) = @_; openssl(qw(openssl dgst -sha256 -sign), $key, '-out', "$p.sig", $p) },
    ed  => sub { my ($key, $p) = @_; openssl(qw(openssl pkeyutl -sign -rawin -inkey), $key, '-in', $p,
                                              '-out', "$p.sig") },
);
my %label = (rsa => 'RSA', ec => 'ECDSA P-256', ed => 'Ed25519');

# A package without its signature on firma-ed: refused after the wait.
my $t_missing_sig = time;
my $missing_sig = 'FIRMA_2050_sin_firma.tar.gz';
upload_renamed(pkg($missing_sig, '20:50', 150), 'firma-ed');

my $seed = 151;
for my $kind (qw(rsa ec ed)) {
    my $feed = "firma-$kind";
    my $inc  = incoming($feed);
    my $sto = store($feed);
    my $key  = "$keys/$kind.key.pem";
    my $t    = "signature $label{$kind}";
    ok -s $key && -s "$keys/$kind.pub.pem", "$t: the key pair was made before the server started"
        or next;

    # Good: the signature is uploaded first, then the package.
    my $good = 'FIRMA_2100.tar.gz';
    my $p = pkg("$kind-$good", '21:00', $seed++);
    $sign{$kind}->($key, $p);
    File::Copy::copy("$p.sig", "$inc/$good.sig") or die;
    my ($f) = upload_and_wait($p, $feed, name => $good, timeout => 20);
    ok $f, "$t: a package signed with the feed's key is taken" or diag explain status_feed($feed);
    is served_time($feed), '2024-06-02T21:00:00-06:00', "$t: and served";
    ok -e "$sto/processed/$good.sig", "$t: the signature is kept in STORE/processed/";

    # Damaged: one byte of a good signature changed.
    my $name = 'FIRMA_2105_danada.tar.gz';
    $p = pkg("$kind-$name", '21:05', $seed++);
    $sign{$kind}->($key, $p);
    my $sig = slurp("$p.sig");
    substr($sig, length($sig) - 5, 1) = chr(ord(substr($sig, length($sig) - 5, 1)) ^ 0x01);
    spit("$inc/$name.sig", $sig);
    upload_renamed($p, $feed, $name);
    check_refused($feed, $name, "$t: damaged signature", 20, '.sig');

    # The good signature of other bytes.
    $name = 'FIRMA_2106_otros_bytes.tar.gz';
    $p = pkg("$kind-$name", '21:06', $seed++);
    spit("$inc/$name.sig", slurp("$sto/processed/$good.sig"));
    upload_renamed($p, $feed, $name);
    check_refused($feed, $name, "$t: signature of other bytes", 20, '.sig');

    # Signed by another key of the same kind.
    $name = 'FIRMA_2107_otra_llave.tar.gz';
    $p = pkg("$kind-$name", '21:07', $seed++);
    $sign{$kind}->("$keys/otra-$kind.key.pem", $p);
    File::Copy::copy("$p.sig", "$inc/$name.sig") or die;
    upload_renamed($p, $feed, $name);
    check_refused($feed, $name, "$t: signed by another key", 20, '.sig');

    # An empty signature file.
    $name = 'FIRMA_2108_vacia.tar.gz';
    $p = pkg("$kind-$name", '21:08', $seed++);
    spit("$inc/$name.sig", '');
    upload_renamed($p, $feed, $name);
    check_refused($feed, $name, "$t: empty signature", 20, '.sig');

    is served_time($feed), '2024-06-02T21:00:00-06:00', "$t: still the good corte";
}

# ---------------------------------------------------------------- missing sidecars

for my $m (['sumas', $missing, $t_missing, 'sha256'], ['firma-ed', $missing_sig, $t_missing_sig, 'signature']) {
    my ($feed, $name, $t0, $what) = @$m;
    my $inc = incoming($feed);
    my $sto = store($feed);
    if (time - $t0 < $SIDECAR_WAIT - 10) {
        ok -e "$inc/$name" && !-e "$sto/rejected/$name",
            "$what: without its sidecar the package still waits after " . (time - $t0) . ' s';
    }
    my $left = $SIDECAR_WAIT + 30 - (time - $t0);
    my $rej = check_refused($feed, $name, "$what: no sidecar, after the wait", $left > 5 ? $left : 5);
    cmp_ok time - $t0, '>=', $SIDECAR_WAIT - 5, "$what: refused only after waiting for the sidecar";
    like $rej->{message} // '', qr/is missing/, "$what: the message says the sidecar is missing"
        if $rej;
}

done_testing;
