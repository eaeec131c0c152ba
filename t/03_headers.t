# Response headers of a feed: Cache-Control (json/main.json, default,
# PrepCacheControl glob), X-PREP-Corte, nosniff, Referrer-Policy, CSP
# frame-ancestors (PrepFrameAncestors and its default), CORS on JSON and
# CSV only, Strict-Transport-Security on HTTPS only.  Feed: qro.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PrepTest;

my $feed = 'qro';
my ($pkg, $f) = ensure_corte($feed, corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte');
my $iso = '2024-06-02T21:05:00-06:00';

sub get { http(GET => shift) }

# Cache-Control.
is get('/prep/qro/json/main.json')->header('Cache-Control'), 'no-cache, no-store, must-revalidate',
    'json/main.json: Cache-Control: no-cache, no-store, must-revalidate (default)';
is get('/sinbanner/qro/json/main.json')->header('Cache-Control'), 'no-cache, no-store, must-revalidate',
    'json/main.json in another Location: the same';
for my $p ('index.html', 'css/prep.css', 'datos/PRES_2024.csv', 'img/escudo.png',
           'json/casillas/0001-B.json', enc_path('json/municipios/Querétaro.json')) {
    is get("/prep/qro/$p")->header('Cache-Control'), 'public, no-cache', "$p: Cache-Control: public, no-cache";
}
is get('/prep/qro/json/distritos/distrito-01.json')->header('Cache-Control'), 'public, max-age=30',
    'PrepCacheControl "json/distritos/*.json" overrides the default';
is get('/sinbanner/qro/json/distritos/distrito-01.json')->header('Cache-Control'), 'public, no-cache',
    'the override belongs to its Location only';
is get('/prep/qro/json/main.json')->header('Cache-Control'), 'no-cache, no-store, must-revalidate',
    'a glob override elsewhere leaves json/main.json alone';

# X-PREP-Corte on every response of a feed.
for my $p ('json/main.json', 'index.html', 'img/escudo.png', 'datos/PRES_2024.csv') {
    is get("/prep/qro/$p")->header('X-PREP-Corte'), $iso, "$p: X-PREP-Corte: $iso";
}
is http(HEAD => '/prep/qro/index.html')->header('X-PREP-Corte'), $iso, 'HEAD: X-PREP-Corte';
{
    my $r = get('/prep/qro/css/prep.css');
    my $c = http(GET => '/prep/qro/css/prep.css', 'If-None-Match' => $r->header('ETag') // '');
    is $c->code, 304, '304 for the conditional request';
    is $c->header('X-PREP-Corte'), $iso, '304: X-PREP-Corte';
    is $c->header('Cache-Control'), 'public, no-cache', '304: Cache-Control';
}
is get('/prep/qro/no-existe.json')->header('X-PREP-Corte'), $iso, '404 of a feed: X-PREP-Corte';

# Security headers.
for my $p ('index.html', 'json/main.json', 'img/escudo.png') {
    my $r = get("/prep/qro/$p");
    is $r->header('X-Content-Type-Options'), 'nosniff', "$p: X-Content-Type-Options: nosniff";
    is $r->header('Referrer-Policy'), 'strict-origin-when-cross-origin', "$p: Referrer-Policy";
    my $csp = $r->header('Content-Security-Policy') // '';
    like $csp, qr/(^|;)\s*frame-ancestors\s+'self'\s+https:\/\/www\.difusor\.example\s+https:\/\/portal\.example\.org\s*(;|$)/,
        "$p: CSP frame-ancestors with PrepFrameAncestors' values";
    ok !defined $r->header('X-Frame-Options') || $r->header('X-Frame-Options') !~ /deny/i,
        "$p: no X-Frame-Options: DENY (embedding is allowed)";
}
like get('/sinbanner/qro/index.html')->header('Content-Security-Policy') // '',
    qr/(^|;)\s*frame-ancestors\s+'self'\s*(;|$)/, "default CSP frame-ancestors 'self'";

# CORS: JSON and CSV only (open data).
for my $p ('json/main.json', 'json/casillas/0001-B.json', 'datos/PRES_2024.csv') {
    is get("/prep/qro/$p")->header('Access-Control-Allow-Origin'), '*', "$p: Access-Control-Allow-Origin: *";
}
for my $p ('index.html', 'css/prep.css', 'img/escudo.png', 'js/prep.js') {
    ok !defined get("/prep/qro/$p")->header('Access-Control-Allow-Origin'), "$p: no Access-Control-Allow-Origin";
}

# No HSTS over plain HTTP.
ok !defined get('/prep/qro/index.html')->header('Strict-Transport-Security'), 'no HSTS over HTTP';

# HTTPS (virtual host prep_tls, self-signed certificate made at start).
SKIP: {
    my $port = Apache::Test::vars('prep_tls_port');
    skip 'no HTTPS virtual host configured', 3 unless $port;
    my ($curl) = grep { -x "$_/curl" } split /:/, $ENV{PATH} // '';
    skip 'curl not installed', 3 unless $curl;
    my $out = `curl -sk --max-time 10 --tlsv1.2 -D - -o /dev/null https://127.0.0.1:$port/prep/qro/index.html 2>&1`;
    like $out, qr{^HTTP/\S+ 200}m, 'HTTPS: 200' or diag $out;
    like $out, qr/^Strict-Transport-Security:\s*max-age=\d+/mi, 'HTTPS: Strict-Transport-Security';
    like $out, qr/^X-PREP-Corte:\s*\Q$iso\E\s*$/mi, 'HTTPS: X-PREP-Corte';
}

done_testing;
