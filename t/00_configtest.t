# Configuration errors are caught by `httpd -t`, with a message naming the
# directive; a good configuration passes.  Each case is a small config file
# run through the real httpd binary (not the test server).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use Cwd ();
use File::Path qw(make_path);
use PrepTest;

my $httpd = Apache::Test::vars('httpd');
my $so    = abs_path_or(top_dir() . '/.libs/mod_prep.so');

sub abs_path_or { my $p = shift; my $a = Cwd::abs_path($p); $a // $p }

# The LoadModule lines the suite's server inherits (t/conf/base.conf).
my @load;
{
    open my $fh, '<', t_dir() . '/conf/base.conf' or die "base.conf: $!";
    while (<$fh>) {
        push @load, $_ if /^\s*LoadModule\s+(mpm_\w+|authz_core_module|authz_host_module|authn_core_module)\b/;
    }
}

my $tmp = tmp_dir();
my $n = 0;

# Writes one config and returns (exit status, output of httpd -t).
sub configtest {
    my (%o) = @_;
    my $dir = "$tmp/case" . ++$n;
    make_path("$dir/incoming", "$dir/store", "$dir/logs");
    my $feed = $o{feed} // <<"EOF";
<PrepFeed t1>
    PrepIncoming $dir/incoming
    PrepStore    $dir/store
    PrepCorteTime json json/main.json /fechaCorte
</PrepFeed>
EOF
    my $serve = $o{serve} // 't1';
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die;
    print $fh "ServerRoot \"$dir\"\n", "DefaultRuntimeDir \"$dir/logs\"\n",
        "PidFile \"$dir/logs/httpd.pid\"\n", "ErrorLog \"$dir/logs/error_log\"\n",
        "Listen 127.0.0.1:" . (20000 + $$ % 20000) . "\n", "ServerName 127.0.0.1\n",
        @load, "LoadModule prep_module \"$so\"\n", $feed, <<"EOF";
<Location /prep/t1>
    SetHandler prep
    PrepServe $serve
</Location>
<Location /prep-status>
    SetHandler prep-status
    Require ip 127.0.0.1
</Location>
EOF
    print $fh $o{extra} if $o{extra};
    close $fh;
    $o{prepare}->($dir) if $o{prepare};
    my $out = `"$httpd" -t -f "$conf" 2>&1`;
    my $rc = $? >> 8;
    $o{cleanup}->($dir) if $o{cleanup};
    return ($rc, $out);
}

my @bad = (
    # [ name, directive the message must name, %options ]
    ['missing PrepIncoming', 'PrepIncoming', feed => <<"EOF"],
<PrepFeed t1>
    PrepStore    $tmp/shared-store
    PrepCorteTime json json/main.json /fechaCorte
</PrepFeed>
EOF
    ['missing PrepStore', 'PrepStore', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepCorteTime json json/main.json /fechaCorte
</PrepFeed>
EOF
    ['PrepServe naming an unknown feed', 'PrepServe', serve => 'nosuchfeed'],
    ['PrepStore that does not exist', 'PrepStore', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/no/such/store
    PrepCorteTime json json/main.json /fechaCorte
</PrepFeed>
EOF
    ['PrepStore that is not writable', 'PrepStore', feed => <<"EOF", ro => 1],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/readonly-store
    PrepCorteTime json json/main.json /fechaCorte
</PrepFeed>
EOF
    ['bad duration (PrepUpdateInterval 5x)', 'PrepUpdateInterval', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepCorteTime json json/main.json /fechaCorte
    PrepUpdateInterval 5x
</PrepFeed>
EOF
    ['bad time (PrepPublishFrom yesterday)', 'PrepPublishFrom', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepCorteTime json json/main.json /fechaCorte
    PrepPublishFrom yesterday
</PrepFeed>
EOF
    ['PrepPublishUntil before PrepPublishFrom', 'PrepPublishUntil', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepCorteTime json json/main.json /fechaCorte
    PrepPublishFrom  2024-06-02T20:00:00-06:00
    PrepPublishUntil 2024-06-02T19:00:00-06:00
</PrepFeed>
EOF
    ['bad PrepDrill word', 'PrepDrill', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepCorteTime json json/main.json /fechaCorte
    PrepDrill maybe
</PrepFeed>
EOF
    ['bad feed name (PrepFeed qro!)', 'PrepFeed', feed => <<"EOF", serve => 'qro!'],
<PrepFeed qro!>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
</PrepFeed>
EOF
    ['bad PrepCorteTime source', 'PrepCorteTime', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepCorteTime xml main.xml //fecha
</PrepFeed>
EOF
    ['bad PrepTimeZone offset', 'PrepTimeZone', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepTimeZone centro "Tiempo del Centro"
</PrepFeed>
EOF
    ['bad PrepLimits word', 'PrepLimits', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepLimits files=muchos
</PrepFeed>
EOF
    ['bad PrepSettleTime', 'PrepSettleTime', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepSettleTime pronto
</PrepFeed>
EOF
    ['PrepServe in a <LocationMatch>', 'PrepServe', extra => <<"EOF"],
<LocationMatch "^/prep/(qro|gto)">
    SetHandler prep
    PrepServe t1
</LocationMatch>
EOF
    ['PrepServe in a <Directory>', 'PrepServe', extra => <<"EOF"],
<Directory "$tmp">
    SetHandler prep
    PrepServe t1
</Directory>
EOF
    ['PrepFormats xar (never read)', 'xar is never read', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepFormats  tar zip xar
</PrepFeed>
EOF
    ['PrepFormats with an unknown word', 'PrepFormats: unknown format "tgz"', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepFormats  tar tgz
</PrepFeed>
EOF
    ['PrepVerify signature with a key file that is not there', 'PrepVerify', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepVerify   signature $tmp/no-such-key.pem
</PrepFeed>
EOF
    ['PrepVerify signature with a file that is not a public key', 'PrepVerify', feed => <<"EOF"],
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/shared-store
    PrepVerify   signature $tmp/not-a-key.pem
</PrepFeed>
EOF
);
spit("$tmp/not-a-key.pem", "-----BEGIN CERTIFICATE-----\nnada\n-----END CERTIFICATE-----\n");

my $as_root = $> == 0;

plan skip_all => "module not built: $so" unless -e $so;

make_path("$tmp/shared-incoming", "$tmp/shared-store", "$tmp/readonly-store");
chmod 0555, "$tmp/readonly-store";

{
    my ($rc, $out) = configtest();
    is $rc, 0, "good config: httpd -t exits 0" or diag $out;
    like $out, qr/Syntax OK/, "good config: Syntax OK";
}

for my $case (@bad) {
    my ($name, $directive, %o) = @$case;
  SKIP: {
        skip "running as root: every directory is writable", 2 if $o{ro} && $as_root;
        my ($rc, $out) = configtest(%o);
        isnt $rc, 0, "$name: httpd -t fails" or diag $out;
        like $out, qr/\Q$directive\E/, "$name: the message names $directive";
    }
}

# Every missing directory in one run, each with the file and line of its
# directive and the command that creates it (issue 14).
{
    my ($rc, $out) = configtest(feed => <<"EOF");
<PrepFeed t1>
    PrepIncoming $tmp/gone1/incoming
    PrepStore    $tmp/gone1/store
</PrepFeed>
<PrepFeed t2>
    PrepIncoming $tmp/gone2/incoming
    PrepStore    $tmp/gone2/store
</PrepFeed>
EOF
    isnt $rc, 0, 'missing directories: httpd -t fails' or diag $out;
    my $conf = "$tmp/case$n/httpd.conf";
    open my $fh, '<', $conf or die "$conf: $!";
    my %line;
    while (<$fh>) {
        $line{"$1 $2"} = $. if m{^\s*(PrepIncoming|PrepStore)\s+(\S+)};
    }
    close $fh;
    my @said = $out =~ /PREP0101: (.*)/g;
    is scalar(@said), 4, 'missing directories: all four told in one run' or diag $out;
    for my $k (sort keys %line) {
        my ($directive, $dir) = split / /, $k;
        like $out, qr/PREP0101: \Q$conf:$line{$k}\E: <PrepFeed t\d>: \Q$directive $dir\E does not exist: create it with "install -d /,
            "$directive $dir: the file and line of the directive, and the command";
    }
}

# An unwritable directory, too, with the file and line of its directive.
SKIP: {
    skip "running as root: every directory is writable", 1 if $as_root;
    my ($rc, $out) = configtest(feed => <<"EOF");
<PrepFeed t1>
    PrepIncoming $tmp/shared-incoming
    PrepStore    $tmp/readonly-store
</PrepFeed>
EOF
    my $conf = "$tmp/case$n/httpd.conf";
    like $out, qr/PREP0101: \Q$conf\E:\d+: <PrepFeed t1>: PrepStore \Q$tmp\E\/readonly-store is not writable/,
        'an unwritable PrepStore: the file and line of its directive';
}

chmod 0755, "$tmp/readonly-store";
done_testing;
