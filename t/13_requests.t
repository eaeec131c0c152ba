# Bad requests, written raw on the socket (a client library would normalize
# them): very long URLs, %00, invalid and overlong UTF-8, double-encoded and
# encoded traversal, backslashes, dot-files.  Each gets a 4xx, never a 5xx,
# a crash or a byte from outside the corte.  `//` and `/./` are removed by
# httpd's own normalization (MergeSlashes, RFC 3986 dot segments): those may
# also answer with the very file the normalized path names.  Afterwards the
# server still answers and no child died.  Feed: qro.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PrepTest;

my $feed = 'qro';
my $base = "/prep/$feed";
my ($pkg, $f) = ensure_corte($feed, corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f, 'qro serves a corte' or give_up('qro: no corte');
my $pid0  = server_pid();
my $log0  = error_log_size();
my $main  = http(GET => "$base/json/main.json");
is $main->code, 200, 'json/main.json is served';
my $main_bytes = $main->content;

# Files the attacks would like to reach.
my $secret = 'PREP-PETICION-' . $$;
spit(t_dir() . "/prep/$feed/peticion.txt", "$secret\n");
spit(store($feed) . '/peticion.txt', "$secret\n");
spit(t_dir() . '/peticion.txt', "$secret\n");

sub outside { my $b = shift; $b =~ /\Q$secret\E|root:x:0:0|"sha256"|Options -Indexes|secreto: no se publica/ }

sub check_4xx {
    my ($path, $what) = @_;
    my $res = raw_http($path);
    my $ok = $res->{status} >= 400 && $res->{status} < 500 && !outside($res->{body});
    ok $ok, "$what → 4xx (" . ($res->{status} || 'no answer') . '), nothing from outside the corte'
        or diag "status $res->{status}, request " . substr($path, 0, 120)
                . ', body: ' . substr($res->{body}, 0, 200);
    return $res;
}

# ---------------------------------------------------------------- must be 4xx

my @bad = (
    # very long URLs: over LimitRequestLine, and just under it
    ["$base/" . ('a' x 9000),                                 'a 9000-byte path'],
    ["$base/" . ('a' x 20000) . '.html',                      'a 20000-byte path'],
    ["$base/" . (('b' x 200 . '/') x 39) . 'x.json',          'a 7.8k path of 40 components'],
    ["$base/" . ('c' x 5000) . '.json',                       'one 5000-byte component'],
    ["$base/" . ('%41' x 2600),                               '2600 escapes'],
    ["$base/" . ('%2e%2e/' x 1100) . 'etc/passwd',            '1100 encoded ../'],
    ["$base/" . ('../' x 2600) . 'etc/passwd',                '2600 ../'],
    # NUL
    ["$base/json/main.json%00",                               'main.json%00'],
    ["$base/json/main.json%00.html",                          'main.json%00.html'],
    ["$base/%00",                                             '%00'],
    ["$base/%00/../../etc/passwd",                            '%00/../../etc/passwd'],
    # invalid UTF-8
    ["$base/%C3%28",                                          'invalid UTF-8 %C3%28'],
    ["$base/json/%FF.json",                                   'invalid UTF-8 %FF'],
    ["$base/%FF%FE%FD",                                       'invalid UTF-8 %FF%FE%FD'],
    ["$base/Quer%E9taro.json",                                'Latin-1 %E9 (not UTF-8)'],
    # overlong UTF-8 of "." and "/"
    ["$base/%C0%AE%C0%AE%2F%C0%AE%C0%AE%2Fetc%2Fpasswd",      'overlong %C0%AE%C0%AE%2F'],
    ["$base/%C0%AE%C0%AE/%C0%AE%C0%AE/etc/passwd",            'overlong %C0%AE%C0%AE/'],
    ["$base/%C0%AEhtaccess",                                  'overlong %C0%AEhtaccess'],
    ["$base/%E0%80%AE%E0%80%AE/etc/passwd",                   'overlong 3-byte %E0%80%AE'],
    ["$base/json%C0%AFmain.json",                             'overlong "/" %C0%AF'],
    # double-encoded traversal
    ["$base/%252e%252e%252f%252e%252e%252fetc%252fpasswd",    'double-encoded %252e%252e%252f'],
    ["$base/%252e%252e/%252e%252e/peticion.txt",              'double-encoded %252e%252e/'],
    ["$base/json%252fmain.json",                              'double-encoded slash %252f'],
    # encoded traversal
    ["$base/..%2f..%2f..%2fetc%2fpasswd",                     '..%2f'],
    ["$base/..%2fpeticion.txt",                               '..%2fpeticion.txt'],
    ["$base/json%2fmain.json",                                'an encoded slash %2f'],
    ["$base/%2e%2e/%2e%2e/%2e%2e/etc/passwd",                 '%2e%2e/ (to /etc/passwd)'],
    ["$base/%2e%2e/peticion.txt",                             '%2e%2e/peticion.txt'],
    ["$base/%2e%2e/store/peticion.txt",                       '%2e%2e/store/peticion.txt'],
    ["$base/.%2e/.%2e/peticion.txt",                          '.%2e/'],
    ["$base/../../../../etc/passwd",                          '../ (raw)'],
    ["$base/../peticion.txt",                                 '../peticion.txt'],
    ["$base/json/../../peticion.txt",                         'json/../../peticion.txt'],
    ["$base/./../peticion.txt",                               './../peticion.txt'],
    # backslashes
    ["$base/..\\..\\..\\etc\\passwd",                         'backslashes ..\\..\\'],
    ["$base/json\\main.json",                                 'json\\main.json'],
    ["$base/json\\..\\..\\peticion.txt",                      'json\\..\\..\\'],
    ["$base/..%5c..%5cetc%5cpasswd",                          '..%5c'],
    ["$base/json%5cmain.json",                                'json%5cmain.json'],
    ["$base/\\\\peticion.txt",                                '\\\\ at the start'],
    # dot-files (the package has .htaccess and json/.hidden)
    ["$base/.htaccess",                                       '.htaccess'],
    ["$base/%2ehtaccess",                                     '%2ehtaccess'],
    ["$base/.git/config",                                     '.git/config'],
    ["$base/.git/HEAD",                                       '.git/HEAD'],
    ["$base/json/.hidden",                                    'json/.hidden'],
    ["$base/json/%2Ehidden",                                  'json/%2Ehidden'],
    ["$base/.well-known/../.htaccess",                        '.well-known/../.htaccess'],
    ["$base/json/.",                                          'json/. (a trailing dot segment)'],
    ["$base/...",                                             '...'],
    # not a path at all
    ["$base/%",                                               'a lone %'],
    ["$base/%zz",                                             'a bad escape %zz'],
    ["$base/%2",                                              'a cut escape %2'],
);
check_4xx(@$_) for @bad;

# ---------------------------------------------------------------- normalized by httpd

# 4xx, or exactly the file the normalized path names: never another.
my %normal = (
    "$base//json/main.json"          => 'json/main.json',
    "$base/json//main.json"          => 'json/main.json',
    "$base/json///main.json"         => 'json/main.json',
    "$base/./json/main.json"         => 'json/main.json',
    "$base/json/./main.json"         => 'json/main.json',
    "$base/json/%2e/main.json"       => 'json/main.json',
    "$base/json/x/../main.json"      => 'json/main.json',
    "$base/json/%2e%2e/json/main.json" => 'json/main.json',
);
for my $path (sort keys %normal) {
    my $res = raw_http($path);
    my $ok = ($res->{status} >= 400 && $res->{status} < 500 && !outside($res->{body}))
        || ($res->{status} == 200 && $res->{body} eq $main_bytes);
    ok $ok, "$path → 4xx or $normal{$path} itself (" . ($res->{status} || 'no answer') . ')'
        or diag "status $res->{status}, body: " . substr($res->{body}, 0, 200);
}

# ---------------------------------------------------------------- still there

{
    my $res = http(GET => "$base/json/main.json");
    is $res->code, 200, 'the server still answers';
    ok $res->content eq $main_bytes, 'with the same json/main.json';
    is server_pid(), $pid0, 'the same server (no restart)';
    my $log = error_log_since($log0);
    unlike $log, qr/Segmentation fault|exit signal|AddressSanitizer|child pid \d+ exit/,
        'no child crashed';
    my @lines = grep { /mod_prep|AH106\d\d/ && /\b(error|crit|alert|emerg)\b/ } split /\n/, $log;
    is_deeply \@lines, [], 'mod_prep logged no error for them' or diag join "\n", @lines[0 .. ($#lines < 5 ? $#lines : 5)];
}

done_testing;
