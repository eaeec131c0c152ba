# PrepTest::Run — Apache::TestRun for mod_prep's suite.
#
# Before the server starts it gives every feed of t/conf/extra.conf.in a
# fresh incoming/ and store/ (the module refuses a PrepStore that does not
# exist), the PrepVerify signature keys in t/prep/keys/, and makes the
# self-signed certificate of the HTTPS virtual host.
# After Apache::Test writes t/conf/*.conf it makes every Listen use
# 127.0.0.1: the suite's servers never listen on other addresses.
package PrepTest::Run;

use strict;
use warnings FATAL => 'all';

use parent 'Apache::TestRun';

use File::Path qw(make_path remove_tree);

# Every <PrepFeed NAME> of t/conf/extra.conf.in gets its directories.
sub feeds {
    open my $fh, '<', 't/conf/extra.conf.in' or die "t/conf/extra.conf.in: $!";
    my @feeds = map { /^\s*<PrepFeed\s+([^\s>]+)\s*>/i ? $1 : () } <$fh>;
    close $fh;
    return @feeds;
}

sub starting_server {
    my $self = shift;
    my $o = $self->{opts};
    return 1 if $o->{'start-httpd'};
    return !grep { $o->{$_} } qw(run-tests stop-httpd ping clean help configure);
}

sub pre_configure {
    my $self = shift;

    if ($self->starting_server) {
        remove_tree('t/prep', 't/tmp');
        for my $feed (feeds()) {
            make_path("t/prep/$feed/incoming", "t/prep/$feed/store");
        }
        make_path('t/tmp');
        make_keys('t/prep/keys');
    }
    unless (-s 't/conf/tls/cert.pem' && -s 't/conf/tls/key.pem') {
        make_path('t/conf/tls');
        my @cmd = qw(openssl req -x509 -newkey rsa:2048 -nodes -days 30
                     -subj /CN=127.0.0.1 -keyout t/conf/tls/key.pem
                     -out t/conf/tls/cert.pem);
        system("@cmd >/dev/null 2>&1") == 0
            or warn "PrepTest::Run: openssl could not make t/conf/tls; HTTPS tests will fail\n";
    }
    $self->SUPER::pre_configure();
}

# The PrepVerify signature keys of the firma-* feeds (their paths are in
# the configuration, so they exist before the server starts): KIND.key.pem
# and KIND.pub.pem for rsa, ec (P-256) and ed (Ed25519), and otra-KIND, a
# second key of each kind that no feed trusts.
sub make_keys {
    my $dir = shift;
    my %genkey = (
        rsa => 'openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048',
        ec  => 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
        ed  => 'openssl genpkey -algorithm ED25519',
    );
    make_path($dir);
    for my $kind (sort keys %genkey) {
        for my $name ($kind, "otra-$kind") {
            my ($key, $pub) = ("$dir/$name.key.pem", "$dir/$name.pub.pem");
            system("$genkey{$kind} -out $key 2>/dev/null"
                   . " && openssl pkey -in $key -pubout -out $pub 2>/dev/null") == 0
                or warn "PrepTest::Run: openssl could not make $key; PrepVerify tests will fail\n";
        }
    }
}

sub configure {
    my $self = shift;
    my @r = $self->SUPER::configure(@_);
    for my $file (glob 't/conf/*.conf') {
        next if $file =~ m{/base\.conf$};
        open my $in, '<', $file or next;
        local $/;
        my $text = <$in>;
        close $in;
        next unless $text =~ s/^(\s*Listen\s+)0\.0\.0\.0:/${1}127.0.0.1:/mg;
        open my $out, '>', $file or die "cannot write $file: $!";
        print $out $text;
        close $out;
    }
    return @r;
}

1;
