from tortoise import migrations
from tortoise.migrations import operations as ops
from grants.models.outcomes import OutcomeKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('grants', '0005_user_session')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MailText',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('edition', fields.ForeignKeyField('grants.Edition', source_field='edition_id', db_constraint=True, to_field='id', related_name='mail_texts', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='ELIGIBLE: eligible\nINELIGIBLE: ineligible\nSHORTLISTED: shortlisted\nAWARDED: awarded\nNOT_AWARDED: not_awarded', enum_type=OutcomeKind, max_length=16)),
                ('language', fields.CharField(max_length=8)),
                ('subject', fields.CharField(max_length=255)),
                ('body', fields.TextField(unique=False)),
                ('updated_by', fields.ForeignKeyField('grants.User', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='mail_texts_written', on_delete=OnDelete.CASCADE)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'mail_text', 'app': 'grants', 'unique_together': (('edition', 'kind', 'language'),), 'pk_attr': 'id', 'table_description': "An edition's own text of one outcome mail in one language, with named placeholders."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutcomeNotice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.ForeignKeyField('grants.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='outcome_notices', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='ELIGIBLE: eligible\nINELIGIBLE: ineligible\nSHORTLISTED: shortlisted\nAWARDED: awarded\nNOT_AWARDED: not_awarded', enum_type=OutcomeKind, max_length=16)),
                ('language', fields.CharField(max_length=8)),
                ('recipients', fields.IntField(default=0)),
                ('released_by', fields.ForeignKeyField('grants.User', source_field='released_by_id', null=True, db_constraint=True, to_field='id', related_name='outcome_notices_released', on_delete=OnDelete.CASCADE)),
                ('released_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outcome_notice', 'app': 'grants', 'unique_together': (('application', 'kind'),), 'pk_attr': 'id', 'table_description': "One outcome told to one application's group, written only by services.outcomes.release."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApplicationMessage',
            name='from_secretariat',
            field=fields.BooleanField(default=True),
        ),
    ]
