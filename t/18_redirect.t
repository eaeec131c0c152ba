# Feed Locations do not pre-empt the redirects of mod_alias and mod_rewrite:
# mod_prep maps a feed's URL after them (and before the core maps it to
# the DocumentRoot), so conf/prep-tls.conf's HTTP → HTTPS redirect fires
# for every feed URL, with the path and the query kept.
#   prep_redirect  conf/prep-tls.conf's `Redirect permanent /prep/ …`, as
#                  written there but for the host (t/conf/extra.conf.in)
#   prep_rewrite   a whole-site RewriteRule redirect
#   prep_vhost_alias  a VirtualDocumentRoot, which must not take feed URLs
# Feeds: qro (serving), emb (embargoed), vacia (waiting).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Path ();
use PrepTest;

my ($pkg, $f) = ensure_corte('qro', corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte');

my $tls = Apache::Test::vars('prep_tls_port') or give_up('no prep_tls virtual host');
my $https = "https://127.0.0.1:$tls";

# The test's Redirect is the example's, but for the host.
{
    my $example = slurp(top_dir() . '/conf/prep-tls.conf');
    my ($ex) = $example =~ m{^\s*(Redirect\s+\S+\s+/\S*\s+)https://resultados\.difusor\.example(/\S*)\s*$}m;
    my ($ex_target) = $example =~ m{^\s*Redirect\s+\S+\s+/\S*\s+https://resultados\.difusor\.example(/\S*)\s*$}m;
    my $conf = slurp(t_dir() . '/conf/extra.conf');
    my ($t, $t_target) = $conf =~ m{^\s*(Redirect\s+\S+\s+/\S*\s+)https://127\.0\.0\.1:\d+(/\S*)\s*$}m;
    ok defined $ex, 'conf/prep-tls.conf has a Redirect to https://resultados.difusor.example/…';
    is $t, $ex, 'the test redirects as conf/prep-tls.conf does';
    is $t_target, $ex_target, 'to the same path';
}

# GET on a plain-HTTP virtual host, written on the socket as given.
sub get_on {
    my ($port, $path) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => 10)
        or die "cannot connect to 127.0.0.1:$port: $!";
    print $sock "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n";
    my $raw = '';
    my $deadline = time + 15;
    while (time < $deadline) {
        my $n = sysread($sock, my $buf, 65536);
        last unless $n;
        $raw .= $buf;
    }
    close $sock;
    my ($status) = $raw =~ m{^HTTP/\d\.\d (\d{3})};
    my ($location) = $raw =~ m{^Location:\s*(\S+)\r?$}mi;
    return ($status // 0, $location // '', $raw);
}

# A body over HTTPS (curl, the test's self-signed certificate).
sub https_get {
    my $url = shift;
    my $out = tmp_dir() . '/https-body';
    unlink $out;
    my $code = `curl -sk --max-time 10 -o '$out' -w '%{http_code}' '$url'`;
    return ($code, -e $out ? slurp($out) : '');
}

my @feed_paths = ('/prep/qro/', '/prep/qro/index.html', '/prep/qro/json/main.json',
                  '/prep/qro/datos/PRES%202024%20final.csv', '/prep/qro/css/prep.css?v=3',
                  '/prep/qro/no-existe.json', '/prep/emb/', '/prep/emb/json/main.json',
                  '/prep/vacia/json/main.json');
my %vhosts = (prep_redirect => 'Redirect (conf/prep-tls.conf)', prep_rewrite => 'RewriteRule');

for my $vh (sort keys %vhosts) {
    my $port = Apache::Test::vars("${vh}_port") or do { fail "no $vh virtual host"; next };
    for my $p (@feed_paths) {
        my ($status, $location, $raw) = get_on($port, $p);
        is $status, 301, "$vhosts{$vh}: $p → 301" or diag substr($raw, 0, 400);
        is $location, "$https$p", "$vhosts{$vh}: $p → $https$p";
    }
    # The feed's root without its slash reaches HTTPS too (the feed's own
    # redirect to the slash, on plain HTTP, may come first).
    {
        my ($status, $location) = get_on($port, '/prep/qro');
        ok $status == 301 || $status == 302, "$vhosts{$vh}: /prep/qro redirects";
        if ($location =~ s{^(http://127\.0\.0\.1:$port)?(?=/)}{}) {
            ($status, $location) = get_on($port, $location);
        }
        like $location, qr{^\Q$https\E/prep/qro/?$}, "$vhosts{$vh}: /prep/qro ends on $https/prep/qro[/]";
    }
}

# Where the redirect leads: the same bytes over HTTPS as over plain HTTP on
# the main server.
{
    my ($code, $body) = https_get("$https/prep/qro/json/main.json");
    is $code, '200', "$https/prep/qro/json/main.json → 200";
    is $body, http(GET => '/prep/qro/json/main.json')->content, 'the same json/main.json as over HTTP';
}

# /prep-status: conf/prep-tls.conf's Redirect leaves it on HTTP (monitoring
# from localhost); the whole-site RewriteRule sends it to HTTPS with its
# query.
{
    my $port = Apache::Test::vars('prep_redirect_port');
    my ($status) = get_on($port, '/prep-status?check=qro');
    is $status, 200, 'Redirect /prep/: /prep-status?check=qro stays on HTTP → 200';
    $port = Apache::Test::vars('prep_rewrite_port');
    for my $p ('/prep-status', '/prep-status?check=qro', '/prep-status?format=prometheus') {
        my ($status, $location) = get_on($port, $p);
        is $status, 301, "RewriteRule: $p → 301";
        is $location, "$https$p", "RewriteRule: $p → $https$p";
    }
    my ($code, $body) = https_get("$https/prep-status?check=qro");
    is $code, '200', "$https/prep-status?check=qro → 200";
    like $body, qr/^OK qro serving/, "$https/prep-status?check=qro: OK qro serving";
}

# A VirtualDocumentRoot (mod_vhost_alias maps every URL of its virtual
# host) does not take a feed's URL either: the feed answers from its corte
# without walking the VirtualDocumentRoot, where a broken .htaccess (the
# trap of t/15_nowalk.t) answers 500 to whatever walks it.
{
    my $port = Apache::Test::vars('prep_vhost_alias_port');
    my $vhosts = Apache::Test::vars('documentroot') . '/vhosts';
    my $root = "$vhosts/127.0.0.1";
    File::Path::make_path("$root/prep/qro/json", "$root/prep/otro");
    spit("$root/prep/.htaccess", "EstoNoEsUnaDirectiva de Apache\n");
    spit("$root/prep/otro/x.txt", "x\n");
    spit("$root/prep/qro/json/main.json", "{\"VirtualDocumentRoot\": 1}\n");
    my ($trap) = get_on($port, '/prep/otro/x.txt');
    is $trap, 500, 'the trap works: a request that walks VirtualDocumentRoot/prep gets 500';
    for my $p ('/prep/qro/json/main.json', '/prep/qro/', '/prep/qro/no-existe.json') {
        my ($status, undef, $raw) = get_on($port, $p);
        is $status, $p =~ /no-existe/ ? 404 : 200, "VirtualDocumentRoot: $p answers from the feed, not walked";
    }
    my (undef, undef, $raw) = get_on($port, '/prep/qro/json/main.json');
    my (undef, $body) = split /\r\n\r\n/, $raw, 2;
    is $body, http(GET => '/prep/qro/json/main.json')->content, 'VirtualDocumentRoot: the corte\'s json/main.json';
    File::Path::remove_tree($vhosts);
}

# The main server (no redirect) still serves the feeds itself.
is http(GET => '/prep/qro/json/main.json')->code, 200, 'main server: /prep/qro/json/main.json → 200';

done_testing;
