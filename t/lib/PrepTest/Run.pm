# PrepTest::Run — Apache::TestRun for mod_prep's suite.
#
# Before the server starts it gives every feed of t/conf/extra.conf.in a
# fresh incoming/ and store/ (the module refuses a PrepStore that does not
# exist), and makes the self-signed certificate of the HTTPS virtual host.
# After Apache::Test writes t/conf/*.conf it makes every Listen use
# 127.0.0.1: the suite's servers never listen on other addresses.
package PrepTest::Run;

use strict;
use warnings FATAL => 'all';

use parent 'Apache::TestRun';

use File::Path qw(make_path remove_tree);

our @FEEDS = qw(qro subida rechazo carga respaldo emb lenta pac grande vacia);

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
        for my $feed (@FEEDS) {
            make_path("t/prep/$feed/incoming", "t/prep/$feed/store");
        }
        make_path('t/tmp');
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
